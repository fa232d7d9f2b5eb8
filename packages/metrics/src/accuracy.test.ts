import { describe, expect, it } from 'vitest';
import { Accuracy, TopKAccuracy } from './accuracy.js';
import { argmax } from './argmax.js';
import { MetricsError } from './errors.js';

// 4 samples × 3 classes, row-major. Comments: arg-max, and the classes by rank.
// biome-ignore format: one row per line
const scores = new Float32Array([
  0.7, 0.2, 0.1, // 0; 0 > 1 > 2
  0.1, 0.3, 0.6, // 2; 2 > 1 > 0
  0.4, 0.4, 0.2, // tie → 0; 0 > 1 > 2
  0.2, 0.5, 0.3, // 1; 1 > 2 > 0
]);
const target = new Int32Array([0, 1, 1, 0]);

describe('argmax', () => {
  it('picks the largest score per row, ties to the lowest index', () => {
    expect(Array.from(argmax(scores, 3))).toEqual([0, 2, 0, 1]);
  });

  it('rejects a length that is not a multiple of the class count', () => {
    expect(() => argmax(new Float32Array(5), 3)).toThrow(/not a multiple of 3 classes/);
  });
});

describe('Accuracy', () => {
  it('counts arg-max hits from scores', () => {
    const acc = new Accuracy(3);
    acc.update(scores, target);
    expect(acc.compute()).toBe(1 / 4);
    expect(acc.count).toBe(4);
  });

  it('accepts predicted labels of any integer array type', () => {
    const acc = new Accuracy(3);
    acc.updateLabels(new Uint8Array([0, 1, 2]), [0, 1, 1]);
    acc.updateLabels([2], new Int32Array([2]));
    expect(acc.compute()).toBe(3 / 4);
  });

  it('merges two halves into the whole, and resets', () => {
    const whole = new Accuracy(3);
    whole.updateLabels([0, 2, 2, 2, 1, 1, 0], [0, 1, 2, 2, 2, 1, 0]);
    const a = new Accuracy(3);
    const b = new Accuracy(3);
    a.updateLabels([0, 2, 2], [0, 1, 2]);
    b.updateLabels([2, 1, 1, 0], [2, 2, 1, 0]);
    expect(a.merge(b).compute()).toBe(whole.compute());
    expect(whole.compute()).toBe(5 / 7);
    whole.reset();
    expect(whole.count).toBe(0);
    expect(() => whole.compute()).toThrow('Accuracy.compute: no samples were added');
  });

  it('rejects out-of-range labels, length mismatches and unlike merges', () => {
    const acc = new Accuracy(3);
    expect(() => acc.updateLabels([0, 3], [0, 1])).toThrow(
      'Accuracy.updateLabels: pred[1] = 3 is out of range: labels must be integers in [0, 2]',
    );
    expect(() => acc.updateLabels([0, 1], [0, -1])).toThrow(/target\[1\] = -1 is out of range/);
    expect(() => acc.updateLabels([0.5], [0])).toThrow(/pred\[0\] = 0.5 is out of range/);
    expect(() => acc.updateLabels([0, 1, 2], [0, 1])).toThrow(
      'Accuracy.updateLabels: length mismatch: 3 predictions but 2 targets',
    );
    expect(() => acc.update(new Float32Array(7), [0, 1])).toThrow(
      /scores has 7 values but 2 targets × 3 classes = 6 were expected/,
    );
    expect(() => acc.update(new Float32Array([0, Number.NaN, 0]), [0])).toThrow(
      /scores\[1\] \(sample 0, class 1\) is NaN/,
    );
    expect(() => acc.merge(new Accuracy(4) as never)).toThrow(
      'Accuracy.merge: cannot merge metrics with different class counts (3 and 4)',
    );
    expect(() => new Accuracy(0)).toThrow(MetricsError);
    expect(acc.count).toBe(0);
  });
});

describe('TopKAccuracy', () => {
  it('counts the true class among the k best scores', () => {
    // true-class ranks: sample0 → 0, sample1 → 1, sample2 → 1 (tie, lower index first), sample3 → 2
    const expected = { 1: 1 / 4, 2: 3 / 4, 3: 1 };
    for (const k of [1, 2, 3] as const) {
      const top = new TopKAccuracy(3, k);
      top.update(scores, target);
      expect(top.compute()).toBe(expected[k]);
    }
  });

  it('with k = 1 agrees with Accuracy, ties included', () => {
    const acc = new Accuracy(3);
    const top1 = new TopKAccuracy(3, 1);
    acc.update(scores, [0, 2, 0, 0]);
    top1.update(scores, [0, 2, 0, 0]);
    expect(acc.compute()).toBe(3 / 4);
    expect(top1.compute()).toBe(acc.compute());
  });

  it('merges halves into the whole', () => {
    const whole = new TopKAccuracy(3, 2);
    whole.update(scores, target);
    const a = new TopKAccuracy(3, 2);
    const b = new TopKAccuracy(3, 2);
    a.update(scores.subarray(0, 6), target.subarray(0, 2));
    b.update(scores.subarray(6), target.subarray(2));
    expect(a.merge(b).compute()).toBe(whole.compute());
  });

  it('rejects k < 1, k > classes and merging different k', () => {
    expect(() => new TopKAccuracy(3, 0)).toThrow('TopKAccuracy: k must be an integer >= 1, got 0');
    expect(() => new TopKAccuracy(3, 4)).toThrow('TopKAccuracy: k = 4 is larger than the class count 3');
    expect(() => new TopKAccuracy(3, 1).merge(new TopKAccuracy(3, 2))).toThrow(
      'TopKAccuracy.merge: cannot merge top-2 into top-1 accuracy',
    );
    expect(() => new TopKAccuracy(3, 1).merge(new Accuracy(3) as never)).toThrow(
      'cannot merge a Accuracy into a TopKAccuracy',
    );
  });
});
