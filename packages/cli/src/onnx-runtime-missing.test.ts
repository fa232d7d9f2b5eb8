import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { runCli } from './program.js';

// onnxruntime-node is an optional peer of @lenet/onnx: where it is not installed (a plain npm
// install on a machine whose install script cannot download), importing it fails like this.
vi.mock('onnxruntime-node', () => {
  throw new Error("Cannot find package 'onnxruntime-node'");
});

const tmp = mkdtempSync(join(tmpdir(), 'lenet-cli-noort-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('lenet without onnxruntime-node', () => {
  it('train still exports model.onnx and exits 0, saying the file was not checked', async () => {
    let err = '';
    const io = { out: () => undefined, err: (t: string) => (err += t), interactive: false };
    const out = join(tmp, 'run');
    const code = await runCli(
      ['train', '--epochs', '1', '--limit', '256', '--backend', 'wasm', '--out', out],
      io,
    );
    expect(err).toMatch(/model\.onnx written; not checked: .*npm install onnxruntime-node/);
    expect(code).toBe(0);
    expect(existsSync(join(out, 'model.onnx'))).toBe(true);
  });

  it('eval of a .onnx file fails with exit 1 and names the package to install', async () => {
    let err = '';
    const io = { out: () => undefined, err: (t: string) => (err += t), interactive: false };
    const code = await runCli(['eval', join(tmp, 'run', 'model.onnx'), '--backend', 'cpu'], io);
    expect(code).toBe(1);
    expect(err).toMatch(/npm install onnxruntime-node/);
  });
});
