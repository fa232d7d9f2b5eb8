import { useBackend } from '@lenet/backend';
import { describe, expect, it } from 'vitest';
import { loadMnistPair } from '../data.js';
import { QUICK } from '../profiles.js';
import { syntheticMnistPair } from '../testing/fixtures.js';
import { variantSpec } from '../variants.js';
import { epochStats, fitCellData, runParallelTrainCell } from './parallel-train-cell.js';

describe('epochStats', () => {
  it('gives the mean samples/s and half the range as a percentage of the mean', () => {
    const s = epochStats([900, 1000, 1100]);
    expect(s.mean).toBeCloseTo(1000, 9);
    expect(s.spreadPct).toBeCloseTo(10, 9);
    expect(epochStats([500]).spreadPct).toBe(0);
    expect(() => epochStats([])).toThrow('no measured epoch');
  });

  it('keeps the quick profile small: five variants, at most 40 batches per cell', () => {
    expect(QUICK.parallel.models).toEqual(['lenet5-classic', 'lenet5', 'torch-bn', 'folder-lenet50', 'mlp2']);
    expect(QUICK.parallel.batchesPerEpoch * (1 + QUICK.parallel.measuredEpochs)).toBeLessThanOrEqual(40);
    const heavy = QUICK.overrides['folder-lenet50'].parallel!;
    expect(heavy.batchesPerEpoch * ((heavy.warmupEpochs ?? 1) + heavy.measuredEpochs)).toBeLessThanOrEqual(6);
  });
});

describe('fitCellData', () => {
  it('holds out one validation image per nine training images, after the training ones, padded to the input', () => {
    const data = syntheticMnistPair(100);
    const { train, validation } = fitCellData(data, [32, 32, 3], 3, 10);
    expect(train.count).toBe(30);
    expect(validation.count).toBe(4);
    expect([validation.height, validation.width, validation.channels]).toEqual([32, 32, 3]);
    expect(Array.from(train.labels)).toEqual(Array.from(data.train.labels.subarray(0, 30)));
    expect(Array.from(validation.labels)).toEqual(Array.from(data.train.labels.subarray(30, 34)));
    // the centre pixel of validation image 0 is training image 30's (14, 14), on every channel
    const src = data.train.images[30 * 784 + 14 * 28 + 14];
    const o = ((14 + 2) * 32 + (14 + 2)) * 3;
    expect(Array.from(validation.images.subarray(o, o + 3))).toEqual([src, src, src]);
    expect(() => fitCellData(data, [28, 28, 1], 10, 10)).toThrow(/fewer than 100 \+ 12 validation/);
  });
});

describe('runParallelTrainCell', () => {
  it('counts training images over the whole epoch, validation included, and gives the steps-only figure in its note', async () => {
    await useBackend('wasm');
    const cell = await runParallelTrainCell({
      model: 'mlp2',
      backend: 'wasm-1w',
      spec: variantSpec('mlp2'),
      batch: 8,
      budget: { batchesPerEpoch: 3, warmupEpochs: 1, measuredEpochs: 2 },
      data: await loadMnistPair(),
    });
    expect(cell.status).toBe('ok');
    expect(cell.iterations).toBe(6);
    expect(cell.note).toMatch(
      /^fit with 1 worker: 1 warm-up \+ 2 measured epochs of 3 batches and 3 validation images;/,
    );
    const stepsOnly = Number(
      /training steps alone: ([\d,]+) samples\/s/.exec(cell.note!)![1].replace(/,/g, ''),
    );
    // the epoch's wall time includes the validation pass, so its rate is below the steps' own
    expect(cell.samplesPerSec!).toBeLessThan(stepsOnly);
  }, 30_000);

  it('pairs each measured epoch (not the warm-up) with a round of its partner, and notes a partner that fails', async () => {
    await useBackend('wasm');
    const context = {
      model: 'mlp2',
      backend: 'wasm-1w' as const,
      spec: variantSpec('mlp2'),
      batch: 8,
      budget: { batchesPerEpoch: 3, warmupEpochs: 1, measuredEpochs: 2 },
      data: await loadMnistPair(),
    };
    const asked: number[] = [];
    const theirsMs = [10, 40];
    const cell = await runParallelTrainCell({
      ...context,
      partner: {
        rounds: 5,
        round: async (i) => {
          asked.push(i);
          return theirsMs[i];
        },
      },
    });
    expect(asked).toEqual([0, 1]);
    const ratios = cell.paired!.ratios;
    expect(ratios).toHaveLength(2);
    // Each ratio is its epoch's samples/s over PyTorch's 8 images per theirsMs: undone, they are
    // the epochs' rates, whose mean is the cell's.
    const rates = ratios.map((r, i) => (r * 8 * 1000) / theirsMs[i]);
    expect((rates[0] + rates[1]) / 2).toBeCloseTo(cell.samplesPerSec!, 6);
    expect(cell.paired!.median).toBeCloseTo((ratios[0] + ratios[1]) / 2, 12);

    const failing = await runParallelTrainCell({
      ...context,
      partner: {
        rounds: 5,
        round: async () => {
          throw new Error('pytorch_ref.py --serve exited (code 1)');
        },
      },
    });
    expect(failing.paired).toBeUndefined();
    expect(failing.note).toMatch(
      /; paired with PyTorch for 0 round\(s\) only: pytorch_ref\.py --serve exited \(code 1\)$/,
    );
  }, 30_000);
});
