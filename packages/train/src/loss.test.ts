import { beforeAll, describe, expect, it } from 'vitest';
import { correctCount, crossEntropySum } from './loss.js';
import * as tf from './tfjs.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('crossEntropySum', () => {
  it('sums −log p of the true class, clipping probabilities at 1e-7', () => {
    tf.tidy(() => {
      const p = tf.tensor2d([
        [0.5, 0.25, 0.25],
        [0, 1, 0],
      ]);
      const y = tf.tensor1d([0, 0], 'int32');
      const ce = crossEntropySum(p, y, { classes: 3, fromLogits: false }).dataSync()[0];
      expect(ce).toBeCloseTo(-Math.log(0.5) - Math.log(1e-7), 4);
    });
  });

  it('applies label smoothing: targets (1-ε)·onehot + ε/K', () => {
    tf.tidy(() => {
      const p = tf.tensor2d([[0.5, 0.25, 0.25]]);
      const y = tf.tensor1d([0], 'int32');
      const eps = 0.3;
      const want = -((1 - eps + eps / 3) * Math.log(0.5) + 2 * (eps / 3) * Math.log(0.25));
      const got = crossEntropySum(p, y, { classes: 3, fromLogits: false, labelSmoothing: eps }).dataSync()[0];
      expect(got).toBeCloseTo(want, 5);
    });
  });

  it('from logits equals from softmax probabilities', () => {
    tf.tidy(() => {
      const logits = tf.tensor2d([
        [2, -1, 0.5],
        [0, 0, 3],
      ]);
      const y = tf.tensor1d([1, 2], 'int32');
      const a = crossEntropySum(logits, y, { classes: 3, fromLogits: true }).dataSync()[0];
      const b = crossEntropySum(tf.softmax(logits), y, { classes: 3, fromLogits: false }).dataSync()[0];
      expect(a).toBeCloseTo(b, 5);
      expect(correctCount(logits, y).dataSync()[0]).toBe(1);
    });
  });
});
