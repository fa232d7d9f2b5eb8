import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_RECIPE } from '@lenet/train/recipes';
import { afterAll, describe, expect, it } from 'vitest';
import { writeRunOptions } from './run-options.js';
import { lenet } from './testing/helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'lenet-cli-options-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('option values', () => {
  it('refuses out-of-range, empty and malformed values with exit 2 and the valid range, before any work', async () => {
    const cases: [string[], RegExp][] = [
      [['train', '--label-smoothing='], /--label-smoothing must be in \[0, 1\), got ''/],
      [['train', '--label-smoothing', '-0.1'], /--label-smoothing must be in \[0, 1\), got -0\.1/],
      [['train', '--val-fraction', '1'], /--val-fraction must be in \[0, 1\), got 1/],
      [['train', '--val-fraction', ''], /--val-fraction must be in \[0, 1\), got ''/],
      [
        ['train', '--workers', '64000'],
        /--workers must be a positive integer, got '64000'; valid range: 1 to \d+ \(this machine's cores\)/,
      ],
      [
        ['train', '--epochs', '1e3'],
        /--epochs must be a positive integer, got '1e3'; valid range: 1 or more/,
      ],
      [['train', '--epochs', '0x10'], /--epochs must be a positive integer, got '0x10'/],
      [['train', '--batch-size', ''], /--batch-size must be a positive integer, got ''/],
      [['train', '--seed', '-1'], /--seed must be a non-negative integer, got '-1'; valid range: 0 or more/],
      [
        ['train', '--lr', 'Infinity'],
        /--lr must be a positive number, got 'Infinity'; valid range: \(0, ∞\)/,
      ],
      [['train', '--lr', ''], /--lr must be a positive number, got ''/],
      [['datasets', 'info', tmp, '--channels', '2'], /--channels must be one of 1, 3; got '2'/],
    ];
    for (const [argv, message] of cases) {
      const r = await lenet(...argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.err, argv.join(' ')).toMatch(message);
      expect(r.err.trim().split('\n'), argv.join(' ')).toHaveLength(1);
    }
  });
});

describe('lenet train --resume: options', () => {
  it('refuses a directory that is not a run, and flags that differ from the run', async () => {
    const empty = join(tmp, 'empty');
    mkdirSync(empty);
    const none = await lenet('train', '--resume', empty);
    expect(none.code).toBe(2);
    expect(none.err).toMatch(/run\.json: missing: .* is not a run directory of lenet train/);

    const run = join(tmp, 'run');
    mkdirSync(run);
    await writeRunOptions(run, {
      recipe: DEFAULT_RECIPE,
      backend: 'wasm',
      workers: 1,
      onnx: true,
      exportAnyway: false,
      reportFlags: {},
    });
    const differ = await lenet('train', '--resume', run, '--epochs', '7', '--lr', '0.004', '--seed', '3');
    expect(differ.code).toBe(2);
    expect(differ.err).toMatch(
      /--resume .*run continues the run with its own options \(run\.json\); these differ: --epochs 7 \(the run has 3\), --seed 3 \(the run has 0\)\. Leave them out/,
    );
    const out = await lenet('train', '--resume', run, '--out', join(tmp, 'elsewhere'));
    expect(out.code).toBe(2);
    expect(out.err).toMatch(/--out .*elsewhere differs from --resume/);
  });
});
