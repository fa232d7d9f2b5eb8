import { describe, expect, it } from 'vitest';
import { QUICK } from '../profiles.js';
import { epochStats } from './parallel-train-cell.js';

describe('epochStats', () => {
  it('gives the mean samples/s and half the range as a percentage of the mean', () => {
    const s = epochStats([900, 1000, 1100]);
    expect(s.mean).toBeCloseTo(1000, 9);
    expect(s.spreadPct).toBeCloseTo(10, 9);
    expect(epochStats([500]).spreadPct).toBe(0);
    expect(() => epochStats([])).toThrow('no measured epoch');
  });

  it('keeps the quick profile small: three variants, at most 40 batches per cell', () => {
    expect(QUICK.parallel.models).toEqual(['lenet5-classic', 'lenet5', 'torch-bn']);
    expect(QUICK.parallel.batchesPerEpoch * (1 + QUICK.parallel.measuredEpochs)).toBeLessThanOrEqual(40);
  });
});
