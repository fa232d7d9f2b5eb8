import { beforeAll, describe, expect, it } from 'vitest';
import { correctCount, crossEntropyHost, crossEntropySum } from './loss.js';
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

describe('crossEntropyHost', () => {
  const labels = Int32Array.from([0, 2]);
  const logits = Float32Array.from([2, -1, 0.5, 0.25, 1, -3]);

  it('from logits: the loss of crossEntropySum and the gradient (softmax − target)/n', () => {
    const grad = new Float32Array(6);
    const got = crossEntropyHost(logits, null, labels, { classes: 3, fromLogits: true }, grad);
    const want = tf.tidy(() =>
      crossEntropySum(tf.tensor2d(logits, [2, 3]), tf.tensor1d(labels, 'int32'), {
        classes: 3,
        fromLogits: true,
      }).dataSync(),
    )[0];
    expect(got.lossSum).toBeCloseTo(want, 5);
    expect(got.correct).toBe(1);
    const softmax = tf.tidy(() => tf.softmax(tf.tensor2d(logits, [2, 3])).dataSync());
    const target = [1, 0, 0, 0, 0, 1];
    for (const [i, g] of grad.entries()) expect(g).toBeCloseTo((softmax[i] - target[i]) / 2, 6);
  });

  it('from probabilities: NaN in any class, the true one or not, makes the loss NaN', () => {
    const lossOf = (probs: Float32Array) =>
      crossEntropyHost(logits, probs, labels, { classes: 3, fromLogits: false }, new Float32Array(6)).lossSum;
    for (const at of [0, 1]) {
      const probs = Float32Array.from([0.5, 0.25, 0.25, 0.2, 0.2, 0.6]);
      probs[at] = Number.NaN;
      expect(lossOf(probs)).toBeNaN();
    }
    expect(lossOf(Float32Array.from([0.5, 0.25, 0.25, 0.2, 0.2, 0.6]))).toBeCloseTo(
      -Math.log(0.5) - Math.log(0.6),
      6,
    );
  });
});
