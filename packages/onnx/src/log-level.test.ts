import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OnnxClassifier } from './classifier.js';
import { foreignModel } from './testing/helpers.js';

// onnxruntime writes its own log lines straight to file descriptor 2, around Node's streams: only a
// child process's stderr shows them. The child runs the built package (built here; a turbo cache
// hit when the sources did not change).
const root = fileURLToPath(new URL('../../../', import.meta.url));
const built = new URL('../dist/classifier.js', import.meta.url).href;
let dir: string;
let file: string;

beforeAll(async () => {
  execFileSync(
    'pnpm',
    ['exec', 'turbo', 'run', 'build', '--filter=@lenet/onnx', '--output-logs=errors-only'],
    {
      cwd: root,
      stdio: 'pipe',
    },
  );
  dir = await mkdtemp(join(tmpdir(), 'lenet-onnx-log-'));
  file = join(dir, 'foreign.onnx');
  await writeFile(file, foreignModel().bytes);
}, 120_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

/** Loads the model with the default providers (CUDA first) in a fresh process and predicts once. */
function child(logLevel?: string): { stderr: string; failures: string[] } {
  const script = `
    const { OnnxClassifier } = await import(${JSON.stringify(built)});
    const c = await OnnxClassifier.load(${JSON.stringify(file)}, ${JSON.stringify(logLevel ? { logLevel } : {})});
    await c.predict(new Float32Array(64), [1, 1, 8, 8]);
    console.log(JSON.stringify(c.info.providerFailures.map((f) => f.provider)));
    await c.dispose();`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
  });
  expect(r.status, r.stderr).toBe(0);
  return { stderr: r.stderr, failures: JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '[]') };
}

describe("onnxruntime's own log lines", () => {
  it("stay out of stderr by default, even when the CUDA provider's libraries are missing", () => {
    const { stderr } = child();
    expect(stderr).not.toMatch(/Failed to load library|libonnxruntime_providers_shared|onnxruntime/);
    // No colour codes (onnxruntime's error lines are red).
    expect(stderr).not.toContain('\u001b[');
  });

  it("reach stderr when asked for with logLevel 'warning'", () => {
    const { stderr, failures } = child('warning');
    // Only a machine without CUDA's libraries has a failed probe to log.
    if (failures.includes('cuda')) expect(stderr).toMatch(/Failed to load library/);
  });

  it('rejects an unknown level', async () => {
    await expect(
      OnnxClassifier.load(file, { logLevel: 'loud' as unknown as 'error', executionProviders: ['cpu'] }),
    ).rejects.toThrow(/logLevel must be one of verbose, info, warning, error, fatal, got loud/);
  });
});
