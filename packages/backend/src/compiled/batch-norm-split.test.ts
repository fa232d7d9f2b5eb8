import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomArray, seededVariable } from '../testing/helpers.js';
import * as tf from '../tfjs.js';
import { useBackend } from '../use-backend.js';
import { setWasmKernelThreads, wasmKernelThreads } from '../wasm-kernels/kernel-threads.js';
import { simdKernels } from '../wasm-kernels/simd.js';
import { splitCalls, splitCopiedFloats } from '../wasm-kernels/split.js';
import type { NetLayer, NetSpec } from './net-spec.js';
import { compileTrainingNet } from './training-net.js';

let threadsBefore = 1;

beforeAll(async () => {
  await useBackend('wasm');
  threadsBefore = wasmKernelThreads();
});

afterAll(async () => {
  await setWasmKernelThreads(threadsBefore);
});

const bn = (c: number, seed: number): NetLayer => ({
  type: 'batchNorm',
  gamma: seededVariable([c], seed, 0.5),
  beta: seededVariable([c], seed + 1, 0.2),
  movingMean: tf.variable(tf.zeros([c]), false),
  movingVariance: tf.variable(tf.ones([c]), false),
  momentum: 0.9,
  epsilon: 1e-3,
});
const pool: NetLayer = { type: 'pool', op: 'max', size: [2, 2], strides: [2, 2] };

/**
 * [64, 64, 1] at batch 12 through a 1×1 conv to `c` channels, a batch norm (relu after it or
 * before), a 2×2 max pooling and a dense layer: the batch norm's input is 12·4096·c floats, over
 * the 262 144 at which its passes split, while the conv and dense layers stay under the 1.5 M
 * multiply-adds at which theirs do, so every split call counted is the batch norm's.
 */
function spec(c: number, reluAfter: boolean): NetSpec {
  return {
    input: [64, 64, 1],
    layers: [
      {
        type: 'conv2d',
        kernel: seededVariable([1, 1, 1, c], c, 0.8),
        bias: seededVariable([c], c + 1, 0.1),
        strides: [1, 1],
        padding: 'valid',
        activation: reluAfter ? 'linear' : 'relu',
      },
      bn(c, c + 2),
      ...(reluAfter ? [{ type: 'activation', activation: 'relu' } as NetLayer] : []),
      pool,
      { type: 'flatten' },
      {
        type: 'dense',
        kernel: seededVariable([32 * 32 * c, 10], c + 4, 0.02),
        bias: seededVariable([10], 5, 0.1),
        activation: 'linear',
      },
    ],
  };
}

describe('the training batch norm split between threads on the shared heap', () => {
  it("gives one thread's output, gradients and moving statistics bit for bit, a NaN window in the helper's images included", async () => {
    const wasm = simdKernels(tf.backend() as never);
    expect(wasm?.shared).toBe(true);
    for (const [c, reluAfter, splits] of [
      // Per batch norm: its two sums forward, the pooled pass, the variance path's sum; with c a
      // multiple of 4, also the gradient's sums and dx (scattered a pair of rows at a time).
      [8, true, 6],
      [6, false, 4],
    ] as const) {
      await compare(spec(c, reluAfter), splits);
    }
  });
});

async function compare(net: NetSpec, splits: number): Promise<void> {
  const n = 12;
  const statistics = net.layers.flatMap((l) =>
    l.type === 'batchNorm' ? [l.movingMean, l.movingVariance] : [],
  );
  const initial = statistics.map((v) => tf.clone(v));
  const run = (x: Float32Array) => {
    statistics.forEach((v, i) => {
      v.assign(initial[i]);
    });
    const compiled = compileTrainingNet(net);
    if (compiled === undefined) throw new Error('no compiled net on wasm');
    try {
      const calls = splitCalls();
      const copied = splitCopiedFloats();
      compiled.forward(x, n, []);
      const output = Float32Array.from(compiled.output());
      compiled.outputGradient().set(randomArray(n * 10, 4));
      compiled.backward();
      return {
        arrays: [
          output,
          ...compiled.gradients().map((g) => Float32Array.from(g)),
          ...statistics.map((v) => Float32Array.from(v.dataSync())),
        ],
        calls: splitCalls() - calls,
        copied: splitCopiedFloats() - copied,
      };
    } finally {
      compiled.dispose();
    }
  };
  const clean = randomArray(n * 64 * 64, 2);
  // Image 9 (the helper's) holds a NaN: the fused pooling's window check redoes the pass unfused.
  const nan = Float32Array.from(clean);
  nan[9 * 64 * 64 + 100] = Number.NaN;
  try {
    for (const x of [clean, nan]) {
      await setWasmKernelThreads(1);
      const one = run(x);
      await setWasmKernelThreads(2);
      const two = run(x);
      expect(one.calls).toBe(0);
      // Redone unfused after a NaN, the pooled gradient is scattered full-size, in one pass.
      expect(two.calls).toBe(x === nan ? splits - (splits === 6 ? 2 : 0) : splits);
      expect(two.copied).toBe(0);
      two.arrays.forEach((a, k) => {
        expect(a, `array ${k}${x === nan ? ' (NaN input)' : ''}`).toEqual(one.arrays[k]);
      });
      expect(two.arrays[0].some(Number.isNaN)).toBe(x === nan);
    }
  } finally {
    tf.dispose(initial);
  }
}
