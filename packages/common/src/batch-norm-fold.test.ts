import { describe, expect, it } from 'vitest';
import { foldBatchNorm } from './batch-norm-fold.js';

// A dense layer [in=3, out=2] followed by a batch norm, evaluated directly and folded.
const kernel = [0.5, -1, 2, 0.25, -0.75, 3];
const bias = [0.1, -0.2];
const bn = {
  gamma: [1.5, 0.5],
  beta: [0.3, -0.4],
  movingMean: [0.2, 1],
  movingVariance: [4, 0.25],
  epsilon: 1e-3,
};

function dense(k: ArrayLike<number>, b: ArrayLike<number>, x: number[]): number[] {
  return [0, 1].map((o) => b[o] + x.reduce((a, v, i) => a + v * k[i * 2 + o], 0));
}

describe('foldBatchNorm', () => {
  it('gives the layer whose output equals the batch norm of the original layer', () => {
    const f = foldBatchNorm(kernel, bias, bn);
    for (const x of [
      [1, 2, 3],
      [-0.5, 0, 4],
    ]) {
      const y = dense(kernel, bias, x);
      const expected = y.map(
        (v, c) =>
          ((v - bn.movingMean[c]) / Math.sqrt(bn.movingVariance[c] + bn.epsilon)) * bn.gamma[c] + bn.beta[c],
      );
      const got = dense(f.kernel, f.bias, x);
      for (let c = 0; c < 2; c++) expect(got[c]).toBeCloseTo(expected[c], 5);
    }
  });

  it('treats a missing bias, gamma and beta as 0, 1 and 0', () => {
    const f = foldBatchNorm([2, 4], undefined, { movingMean: [1, 2], movingVariance: [3, 15], epsilon: 1 });
    expect([...f.kernel]).toEqual([1, 1]);
    expect([...f.bias]).toEqual([-0.5, -0.5]);
  });

  it('leaves its inputs unchanged', () => {
    const k = Float32Array.from(kernel);
    foldBatchNorm(k, bias, bn);
    expect([...k]).toEqual([...Float32Array.from(kernel)]);
  });

  it('names what does not fit', () => {
    expect(() => foldBatchNorm([1, 2, 3], undefined, { ...bn })).toThrow(
      /foldBatchNorm: the kernel's 3 values are not a whole number of rows of 2 output channels/,
    );
    expect(() => foldBatchNorm(kernel, [1], bn)).toThrow(/bias has 1 values for 2 channels/);
  });

  it('gives non-finite weights for a channel whose variance + epsilon is not positive, as the batch norm gives non-finite outputs', () => {
    const f = foldBatchNorm(kernel, bias, { ...bn, movingVariance: [-1, 0], epsilon: 0 });
    expect(Number.isNaN(f.kernel[0])).toBe(true);
    expect(Math.abs(f.kernel[1])).toBe(Number.POSITIVE_INFINITY);
    expect(Number.isNaN(f.bias[0])).toBe(true);
  });
});
