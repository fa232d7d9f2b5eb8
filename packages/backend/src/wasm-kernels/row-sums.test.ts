import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomArray } from '../testing/helpers.js';
import * as tf from '../tfjs.js';
import { useBackend } from '../use-backend.js';
import { kernelThreads, setWasmKernelThreads, takenBackShares, wasmKernelThreads } from './kernel-threads.js';
import { rowSumBlockFloats, sumRows } from './row-sums.js';
import { simdKernels, tileFloats } from './simd.js';
import { splitCalls } from './split.js';

let threadsBefore = 1;

beforeAll(async () => {
  await useBackend('wasm');
  threadsBefore = wasmKernelThreads();
  await setWasmKernelThreads(2);
});

afterAll(async () => {
  await setWasmKernelThreads(threadsBefore);
});

describe('sumRows', () => {
  it("splits between threads on the shared heap and gives the one-thread kernels' sums bit for bit", () => {
    const simd = simdKernels(tf.backend() as never);
    if (simd === undefined) throw new Error('no SIMD kernels');
    expect(simd.shared).toBe(true);
    // 6 channels (tiles of 12), an odd row count: the last values are not a whole tile.
    for (const [rows, c] of [
      [50_001, 6],
      [40_000, 32],
    ]) {
      const t = tileFloats(c);
      const total = rows * c;
      const floats = [total + 16, t, t, t, t, c, c, rowSumBlockFloats(rows, c, t) + 16];
      simd.withScratch(floats, ([x, mean, dvar, tile, acc, out, expected, blocks]) => {
        simd.floats(x, total).set(randomArray(total, rows));
        simd.floats(mean, t).set(randomArray(t, 3));
        simd.floats(dvar, t).set(randomArray(t, 4));
        const f = simd.fn;
        for (const term of ['x', 'squaredDeviation', 'varianceGradient'] as const) {
          const divisor = term === 'varianceGradient' ? 1 : rows;
          if (term === 'x') f.lenet_sum_rows(x, expected, rows, c, t, divisor, tile, acc);
          else if (term === 'squaredDeviation')
            f.lenet_sum_sq_dev(x, mean, expected, rows, c, t, divisor, tile, acc);
          else f.lenet_bn_var_grad_sum(x, mean, dvar, expected, rows, c, t, tile, acc);
          const calls = splitCalls();
          sumRows(simd, term, x, { mean, dvar }, out, rows, c, t, divisor, { tile, acc, blocks });
          expect(splitCalls() - calls, term).toBe(1);
          expect(simd.floats(out, c), `${term}, ${rows} × ${c}`).toEqual(simd.floats(expected, c));
        }
      });
    }
  });

  it('runs a helper share itself, bit for bit, when the helper has not started it', () => {
    // A helper held back stands for one asleep on a halted vCPU: the calling thread, done with
    // its own share, takes the helper's back instead of waiting for it.
    const simd = simdKernels(tf.backend() as never);
    const threads = kernelThreads();
    if (simd === undefined || threads === undefined) throw new Error('no SIMD kernels or helper threads');
    const [rows, c] = [40_000, 32];
    const t = tileFloats(c);
    const total = rows * c;
    const floats = [total + 16, t, t, c, c, rowSumBlockFloats(rows, c, t) + 16];
    simd.withScratch(floats, ([x, tile, acc, out, expected, blocks]) => {
      simd.floats(x, total).set(randomArray(total, 9));
      simd.fn.lenet_sum_rows(x, expected, rows, c, t, rows, tile, acc);
      const sum = () =>
        sumRows(simd, 'x', x, { mean: 0, dvar: 0 }, out, rows, c, t, rows, { tile, acc, blocks });
      threads.holdHelpers(true);
      try {
        const [calls, taken] = [splitCalls(), takenBackShares()];
        sum();
        expect(splitCalls() - calls).toBe(1);
        expect(takenBackShares() - taken).toBe(1);
        expect(simd.floats(out, c)).toEqual(simd.floats(expected, c));
      } finally {
        threads.holdHelpers(false);
      }
      // Let go, the helper takes calls again.
      simd.floats(out, c).fill(0);
      sum();
      expect(simd.floats(out, c)).toEqual(simd.floats(expected, c));
    });
  });
});
