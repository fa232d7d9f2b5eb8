import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onBackend, randomArray, relativeError } from '../testing/helpers.js';
import { guarded, wasmSimdKernels } from '../testing/simd-guard.js';
import * as tf from '../tfjs.js';
import { setWasmKernelThreads } from './kernel-threads.js';
import {
  gemmTransposedA,
  setDenseGradientColumnSplitEnabled,
  setDenseGradientSplitEnabled,
  setDenseGradientTransposeEnabled,
} from './matmul.js';
import { roundUp4, type SimdKernels } from './simd.js';
import { splitCalls } from './split.js';

/** Aᵀ·B with A [k, m] and B [k, n] on the cpu backend. */
async function expected(a: Float32Array, b: Float32Array, [k, m, n]: number[]): Promise<Float32Array> {
  const [c] = await onBackend('cpu', () => [
    tf.matMul(tf.tensor2d(a, [k, m]), tf.tensor2d(b, [k, n]), true, false),
  ]);
  return c;
}

/** gemmTransposedA on guarded buffers: B padded to n4 columns of zeros. */
function product(simd: SimdKernels, a: Float32Array, b: Float32Array, [k, m, n]: number[]) {
  const n4 = roundUp4(n);
  const padded = new Float32Array(k * n4);
  for (let r = 0; r < k; r++) padded.set(b.subarray(r * n, r * n + n), r * n4);
  const { out, guardsIntact } = guarded(simd, [a, padded, new Float32Array(m * n)], ([pa, pb, pc]) => {
    gemmTransposedA(simd, pa, pb, pc, { m, n, n4, k });
  });
  return { c: out[2], guardsIntact };
}

/** The first index where two arrays differ in their bits, or -1 (toEqual takes seconds on 1 M floats). */
function firstDifference(x: Float32Array, y: Float32Array): number {
  const a = new Uint32Array(x.buffer, x.byteOffset, x.length);
  const b = new Uint32Array(y.buffer, y.byteOffset, y.length);
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

describe("a dense layer's weight gradient, Aᵀ·B split over the helper threads", () => {
  let simd: SimdKernels;
  beforeAll(async () => {
    simd = await wasmSimdKernels();
  });
  afterAll(async () => {
    setDenseGradientSplitEnabled(true);
    setDenseGradientColumnSplitEnabled(true);
    await setWasmKernelThreads(1);
  });

  // [k (the batch, split), m, n]: mlp2's first layer at batch 256, and odd sizes (n not a multiple of 4, k odd).
  for (const shape of [
    [256, 784, 100],
    [511, 403, 67],
  ])
    it(`[${shape}] gives the cpu backend's product split in two, and one thread's within float32 rounding`, async () => {
      const [k, m, n] = shape;
      const a = randomArray(k * m, 3);
      const b = randomArray(k * n, 4);
      await setWasmKernelThreads(1);
      const one = product(simd, a, b, shape);
      await setWasmKernelThreads(2);
      setDenseGradientColumnSplitEnabled(false);
      try {
        const before = splitCalls();
        const two = product(simd, a, b, shape);
        expect(splitCalls() - before).toBe(1);
        expect(two.guardsIntact).toBe(true);
        // Two partial sums added: not the same rounding as one running sum.
        expect(relativeError(two.c, one.c)).toBeLessThan(1e-5);
        expect(relativeError(two.c, await expected(a, b, shape))).toBeLessThan(1e-3);
      } finally {
        setDenseGradientColumnSplitEnabled(true);
      }
    });

  // Split by rows of C: mlp2's first layer at batch 256, an odd shape (C's rows odd, n not a
  // multiple of 4).
  for (const shape of [
    [256, 784, 100],
    [130, 403, 167],
  ])
    it(`[${shape}] split by rows of the product gives one thread's result bit for bit`, async () => {
      const [k, m, n] = shape;
      const a = randomArray(k * m, 8);
      const b = randomArray(k * n, 9);
      await setWasmKernelThreads(1);
      const one = product(simd, a, b, shape);
      await setWasmKernelThreads(2);
      const before = splitCalls();
      const two = product(simd, a, b, shape);
      expect(splitCalls() - before).toBe(1);
      expect(two.guardsIntact).toBe(true);
      expect(two.c).toEqual(one.c);
      expect(relativeError(two.c, await expected(a, b, shape))).toBeLessThan(1e-3);
    });

  it('[64, 2048, 520]: rows of A a multiple of 128 floats (transposed first) and 68 M multiply-adds (split over 64 images) give the same bits as one strided thread', async () => {
    const shape = [64, 2048, 520];
    const [k, m, n] = shape;
    const a = randomArray(k * m, 11);
    const b = randomArray(k * n, 12);
    await setWasmKernelThreads(1);
    setDenseGradientTransposeEnabled(false);
    try {
      const strided = product(simd, a, b, shape);
      setDenseGradientTransposeEnabled(true);
      const one = product(simd, a, b, shape);
      expect(one.guardsIntact).toBe(true);
      expect(firstDifference(one.c, strided.c)).toBe(-1);
      // Three rows of C against float64 sums (the cpu backend takes seconds for the whole product).
      for (const i of [0, 1027, m - 1]) {
        const row = Float32Array.from({ length: n }, (_, j) => {
          let sum = 0;
          for (let p = 0; p < k; p++) sum += a[p * m + i] * b[p * n + j];
          return sum;
        });
        expect(relativeError(one.c.subarray(i * n, (i + 1) * n), row)).toBeLessThan(1e-5);
      }
      await setWasmKernelThreads(2);
      const before = splitCalls();
      const two = product(simd, a, b, shape);
      expect(splitCalls() - before).toBe(1);
      expect(two.guardsIntact).toBe(true);
      expect(firstDifference(two.c, one.c)).toBe(-1);
    } finally {
      setDenseGradientTransposeEnabled(true);
    }
  });

  it('stays on one thread when switched off, below the split threshold and, split over the batch, for fewer than 128 images', async () => {
    await setWasmKernelThreads(2);
    setDenseGradientColumnSplitEnabled(false);
    const a = randomArray(256 * 784, 5);
    const b = randomArray(256 * 100, 6);
    setDenseGradientSplitEnabled(false);
    let before = splitCalls();
    product(simd, a, b, [256, 784, 100]);
    expect(splitCalls() - before).toBe(0);
    setDenseGradientSplitEnabled(true);
    before = splitCalls();
    // 64 × 400 × 120 = 3.1 M multiply-adds: LeNet-5's first dense layer at batch 64.
    product(simd, a.subarray(0, 64 * 400), b.subarray(0, 64 * 120), [64, 400, 120]);
    // 12.8 M multiply-adds, but over 64 images only: keras-shallow's 3136→64 layer at batch 64.
    product(simd, randomArray(64 * 3136, 7), b.subarray(0, 64 * 64), [64, 3136, 64]);
    expect(splitCalls() - before).toBe(0);
    // By rows of the product, the same: the thresholds were measured with the split over the batch.
    setDenseGradientColumnSplitEnabled(true);
    product(simd, a.subarray(0, 64 * 400), b.subarray(0, 64 * 120), [64, 400, 120]);
    product(simd, randomArray(64 * 3136, 7), b.subarray(0, 64 * 64), [64, 3136, 64]);
    setDenseGradientSplitEnabled(false);
    product(simd, a, b, [256, 784, 100]);
    expect(splitCalls() - before).toBe(0);
  });
});
