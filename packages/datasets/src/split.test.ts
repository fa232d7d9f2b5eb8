import { OptionError } from '@lenet/common';
import { describe, expect, it } from 'vitest';
import { describeDataset } from './describe.js';
import { classCounts, head, meanStd, split, subset } from './split.js';
import { syntheticDataset } from './testing/synthetic.js';

describe('subset', () => {
  it('copies the chosen samples in the given order', () => {
    const ds = syntheticDataset(10, 2, 2, 1);
    const s = subset(ds, [9, 0, 3]);
    expect(s.count).toBe(3);
    expect(Array.from(s.labels)).toEqual([0, 0, 0]);
    expect(Array.from(s.images.subarray(0, 4))).toEqual(Array.from(ds.images.subarray(36, 40)));
    expect(Array.from(s.images.subarray(8, 12))).toEqual(Array.from(ds.images.subarray(12, 16)));
    expect(() => subset(ds, [10])).toThrow('subset index 10 at position 0 is outside 0..9');
  });
});

describe('head', () => {
  it('views the first n samples without copying, and returns the set itself when n covers it', () => {
    const ds = syntheticDataset(10, 2, 2, 1);
    const h = head(ds, 3);
    expect(h.count).toBe(3);
    expect(h.images).toHaveLength(12);
    expect(h.labels).toHaveLength(3);
    expect(h.images.buffer).toBe(ds.images.buffer);
    expect(Array.from(h.images)).toEqual(Array.from(ds.images.subarray(0, 12)));
    expect(Array.from(h.labels)).toEqual(Array.from(ds.labels.subarray(0, 3)));
    expect(h.source).toBe(`${ds.source} (first 3)`);
    expect(head(ds, 0).count).toBe(0);
    expect(head(ds, 10)).toBe(ds);
    expect(head(ds, 99)).toBe(ds);
    expect(() => head(ds, -1)).toThrow('head: n must be a non-negative integer, got -1');
    expect(() => head(ds, 1.5)).toThrow(OptionError);
  });
});

describe('split', () => {
  // 80 samples, so the first pixel 3i identifies sample i (3 × 79 < 256).
  const ds = syntheticDataset(80, 2, 2, 1, 4);

  it('splits into disjoint parts that cover the set, sized by valFraction', () => {
    const { train, val } = split(ds, { valFraction: 0.2, seed: 1 });
    expect(val.count).toBe(16);
    expect(train.count).toBe(64);
    const ids = (d: typeof ds) => Array.from({ length: d.count }, (_, i) => d.images[i * 4] / 3);
    const all = [...ids(train), ...ids(val)].sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: 80 }, (_, i) => i));
    expect(ids(val)).toEqual([...ids(val)].sort((a, b) => a - b)); // original order kept
    expect(ids(split(ds, { valFraction: 0.2, seed: 1 }).val)).toEqual(ids(val));
    expect(ids(split(ds, { valFraction: 0.2, seed: 2 }).val)).not.toEqual(ids(val));
  });

  it('keeps class proportions when stratified', () => {
    const skewed = syntheticDataset(90, 1, 1, 1, 3);
    skewed.labels = Uint8Array.from({ length: 90 }, (_, i) => (i < 60 ? 0 : i < 80 ? 1 : 2));
    const { train, val } = split(skewed, { valFraction: 0.3, seed: 4, stratified: true });
    expect(classCounts(val)).toEqual([18, 6, 3]);
    expect(classCounts(train)).toEqual([42, 14, 7]);
    // Largest remainder: 10 samples, 0.25 → 2.5 → quotas add up to exactly round(10 × 0.25) = 3.
    const small = syntheticDataset(10, 1, 1, 1, 2);
    const parts = split(small, { valFraction: 0.25, stratified: true });
    expect(parts.val.count).toBe(3);
    expect(classCounts(parts.val).reduce((a, b) => a + b, 0)).toBe(3);
  });

  it('rejects fractions that leave a part empty', () => {
    expect(() => split(ds, { valFraction: 0 })).toThrow(/valFraction must be strictly between 0 and 1/);
    expect(() => split(syntheticDataset(3, 1, 1, 1), { valFraction: 0.1 })).toThrow(
      /leaves no validation samples/,
    );
  });
});

describe('meanStd and describeDataset', () => {
  it('matches a naive per-channel computation', () => {
    const ds = syntheticDataset(7, 3, 3, 3);
    const { mean, std } = meanStd(ds);
    for (let c = 0; c < 3; c++) {
      const values: number[] = [];
      for (let i = c; i < ds.images.length; i += 3) values.push(ds.images[i] / 255);
      const m = values.reduce((a, b) => a + b, 0) / values.length;
      const s = Math.sqrt(values.reduce((a, b) => a + (b - m) ** 2, 0) / values.length);
      expect(mean[c]).toBeCloseTo(m, 12);
      expect(std[c]).toBeCloseTo(s, 12);
    }
  });

  it('summarises count, shape, classes and pixel statistics', () => {
    const ds = syntheticDataset(6, 2, 3, 1, 4);
    const summary = describeDataset(ds);
    expect(summary).toMatchObject({
      source: 'synthetic',
      count: 6,
      shape: [2, 3, 1],
      classes: 4,
      classNames: ['c0', 'c1', 'c2', 'c3'],
      classCounts: [2, 2, 1, 1],
      bytes: 6 * 6 + 6,
    });
    expect(summary.pixelMean[0]).toBeCloseTo(meanStd(ds).mean[0], 12);
  });
});
