import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BenchUsageError } from './errors.js';
import { readResults, validateResults } from './results-file.js';
import { okCell, syntheticResult } from './testing/fixtures.js';
import type { BenchResult } from './types.js';

const good = (): BenchResult =>
  syntheticResult([okCell('train', 'lenet5', 'wasm', 64, 1000, 2)], {
    accuracy: [
      {
        model: 'lenet5',
        status: 'ok',
        budget: { trainSamples: 6000, epochs: 1, batch: 64, backend: 'wasm', seconds: 3 },
        testSamples: 1000,
        tfjsAccuracy: 0.95,
        onnxAccuracy: 0.95,
        disagreement: 0,
        maxAbsDiff: 1e-6,
        onnxProvider: 'cpu',
      },
    ],
  });

type Fields = Record<string, unknown>;
/** A results file as plain JSON, open to any edit. */
type Hand = { cells: Fields[]; env: Fields; accuracy: Fields[]; extras?: unknown };

/** `good()` with one change made through the JSON (as a hand edit would), checked as `x.json`. */
function edited(edit: (json: Hand) => void): () => BenchResult {
  const json = JSON.parse(JSON.stringify(good()));
  edit(json);
  return () => validateResults(json, 'x.json');
}

describe('validateResults', () => {
  it('accepts a results file, and one written before the hostname and OS were recorded', () => {
    expect(validateResults(good(), 'x.json').cells[0].samplesPerSec).toBe(1000);
    expect(
      edited((j) => {
        j.cells[0].paired = { against: 'pytorch-cpu', ratios: [1.1, 0.9, 1.3], median: 1.1 };
      }),
    ).not.toThrow();
    expect(
      edited((j) => {
        delete j.env.hostname;
        delete j.env.os;
      }),
    ).not.toThrow();
  });

  it('rejects files of another format or version, naming the file', () => {
    expect(() => validateResults({ format: 'vitest', version: 1, cells: [] }, 'x.json')).toThrow(
      /^x\.json: not a lenet-bench-results v1 file \(format "vitest", version 1\)/,
    );
    expect(() => validateResults({ ...good(), version: 2 }, 'y.json')).toThrow(
      new BenchUsageError(
        'y.json: lenet-bench-results version 2 is not supported (this pnpm bench reads version 1); use the pnpm bench that wrote it',
      ),
    );
    expect(() => validateResults([], 'z.json')).toThrow('z.json: not a benchmark results file');
  });

  it.each([
    [
      (j: Hand) => {
        j.cells[0].samplesPerSec = 'fast';
      },
      'x.json: cells[0] (train/lenet5/wasm/b64).samplesPerSec must be a number > 0, got "fast"',
    ],
    [
      (j: Hand) => {
        j.cells[0].batch = 0;
      },
      'x.json: cells[0] (train/lenet5/wasm/b64).batch must be a positive integer, got 0',
    ],
    [
      (j: Hand) => {
        j.cells[0].backend = 'webgpu';
      },
      "x.json: cells[0] (train/lenet5/wasm/b64).backend must be one of 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu', 'wasm-1w', 'wasm-2w', 'ort-cuda', 'ort-cpu', 'pytorch-cpu', got \"webgpu\"",
    ],
    [
      (j: Hand) => {
        j.cells[0].model = 'torch-bn';
      },
      "x.json: cells[0] (train/lenet5/wasm/b64).id does not match its fields (expected 'train/torch-bn/wasm/b64')",
    ],
    [
      (j: Hand) => {
        j.cells.push(j.cells[0]);
      },
      'x.json: cells[1] (train/lenet5/wasm/b64) appears twice',
    ],
    [
      (j: Hand) => {
        j.cells[0].paired = { against: 'pytorch-cpu', ratios: [1.1, 0], median: 1.1 };
      },
      'x.json: cells[0] (train/lenet5/wasm/b64).paired.ratios[1] must be a number > 0, got 0',
    ],
    [
      (j: Hand) => {
        j.cells[0].paired = { against: 'onnx', ratios: [1.1], median: 1.1 };
      },
      'x.json: cells[0] (train/lenet5/wasm/b64).paired.against must be one of \'pytorch-cpu\', got "onnx"',
    ],
    [
      (j: Hand) => {
        (j.cells as unknown[])[0] = null;
      },
      'x.json: cells[0] must be an object, got null',
    ],
    [
      (j: Hand) => {
        delete j.env.cpuModel;
      },
      'x.json: env.cpuModel must be a string, got undefined',
    ],
    [
      (j: Hand) => {
        j.env.cores = 0;
      },
      'x.json: env.cores must be a positive integer, got 0',
    ],
    [
      (j: Hand) => {
        j.env.date = 'yesterday';
      },
      'x.json: env.date is not a date: "yesterday"',
    ],
    [
      (j: Hand) => {
        j.accuracy[0].tfjsAccuracy = 96.1;
      },
      'x.json: accuracy[0] (lenet5).tfjsAccuracy must be a number in [0, 1], got 96.1',
    ],
    [
      (j: Hand) => {
        j.extras = { datasets: { status: 'ok', result: {} } };
      },
      'x.json: extras.datasets.result must be an array, got {}',
    ],
  ])('names the file and the field of a malformed file (%#)', (edit, message) => {
    expect(edited(edit)).toThrow(new BenchUsageError(message));
  });
});

describe('readResults', () => {
  it('names the file that is missing, a directory or not JSON', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bench-results-'));
    await writeFile(join(dir, 'bad.json'), '{ nope');
    await mkdir(join(dir, 'folder.json'));
    await writeFile(join(dir, 'good.json'), JSON.stringify(good()));
    await expect(readResults(join(dir, 'bad.json'), 'bad.json')).rejects.toThrow(/^bad\.json: not JSON \(/);
    await expect(readResults(join(dir, 'missing.json'), 'missing.json')).rejects.toThrow(
      new BenchUsageError('missing.json: missing: no such file'),
    );
    await expect(readResults(join(dir, 'folder.json'))).rejects.toThrow(
      `${join(dir, 'folder.json')}: is a directory, expected a file`,
    );
    expect((await readResults(join(dir, 'good.json'))).env.cpuModel).toBe('Test CPU');
  });
});
