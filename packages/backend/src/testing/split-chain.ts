import { compileInferenceNet } from '../compiled/inference-net.js';
import type { NetLayer, NetSpec } from '../compiled/net-spec.js';
import * as tf from '../tfjs.js';
import { setWasmKernelThreads } from '../wasm-kernels/kernel-threads.js';
import { simdKernels } from '../wasm-kernels/simd.js';
import {
  setSplitChainEnabled,
  splitCalls,
  splitChainEnabled,
  splitCopiedFloats,
} from '../wasm-kernels/split.js';
import { randomArray } from './helpers.js';
import { perturb } from './net.js';

/** One pass of {@link splitChainCase}: its probabilities, split calls and floats copied. */
export interface SplitChainRun {
  p: Float32Array;
  calls: number;
  copied: number;
}

/**
 * vgg-cifar10's chain of convolutions in small, compiled for inference and run on 1 thread, then
 * on 2 with the split chain off and on (and a second input off and on): what the tests of the
 * split calls on either heap (shared: in place; not: copies) assert on. Leaves 1 thread running.
 */
export async function splitChainCase(): Promise<{
  shared: boolean;
  one: Float32Array;
  off: SplitChainRun;
  on: SplitChainRun;
  later: { off: Float32Array; on: Float32Array };
}> {
  // vgg-cifar10's chain in small: the narrow direct conv with its epilogue, a dropout, Winograd
  // with a pooling epilogue, Winograd unpooled, then a dense layer that needs the whole batch.
  const init = (k: number) => tf.initializers.glorotUniform({ seed: 60 + k });
  const conv = (filters: number, k: number, inputShape?: number[]) =>
    tf.layers.conv2d({
      ...(inputShape ? { inputShape } : {}),
      filters,
      kernelSize: 3,
      padding: 'same',
      activation: 'relu',
      kernelInitializer: init(k),
    });
  const model = tf.sequential({
    layers: [
      conv(32, 1, [16, 16, 3]),
      tf.layers.dropout({ rate: 0.25 }),
      conv(32, 2),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      conv(64, 3),
      tf.layers.flatten(),
      tf.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: init(4) }),
    ],
  });
  perturb(model);
  const v = model.weights.map((w) => w.read() as tf.Variable);
  const c = (i: number): NetLayer => ({
    type: 'conv2d',
    kernel: v[2 * i],
    bias: v[2 * i + 1],
    strides: [1, 1],
    padding: 'same',
    activation: 'relu',
  });
  const spec: NetSpec = {
    input: [16, 16, 3],
    layers: [
      c(0),
      { type: 'dropout', rate: 0.25 },
      c(1),
      { type: 'pool', op: 'max', size: [2, 2], strides: [2, 2] },
      c(2),
      { type: 'flatten' },
      { type: 'dense', kernel: v[6], bias: v[7], activation: 'softmax' },
    ],
  };
  const n = 17; // every conv ≥ 1.5 M multiply-adds: split, in uneven shares
  const x = randomArray(n * 16 * 16 * 3, 61);
  x[7] = Number.NaN;
  const was = splitChainEnabled();
  const net = compileInferenceNet(spec);
  if (net === undefined) throw new Error('no compiled inference net on wasm');
  try {
    await setWasmKernelThreads(1);
    const one = net.probabilities(x, n);
    await setWasmKernelThreads(2);
    const run = (chain: boolean): SplitChainRun => {
      setSplitChainEnabled(chain);
      const [calls, copied] = [splitCalls(), splitCopiedFloats()];
      const p = net.probabilities(x, n);
      return { p, calls: splitCalls() - calls, copied: splitCopiedFloats() - copied };
    };
    run(true); // the resident filter transforms copied in
    const off = run(false);
    const on = run(true);
    // A later call (and a net used after one that kept) reads fresh inputs.
    const y = randomArray(n * 16 * 16 * 3, 62);
    setSplitChainEnabled(false);
    const yOff = net.probabilities(y, n);
    setSplitChainEnabled(true);
    const yOn = net.probabilities(y, n);
    const shared = simdKernels(tf.backend() as never)?.shared === true;
    return { shared, one, off, on, later: { off: yOff, on: yOn } };
  } finally {
    setSplitChainEnabled(was);
    await setWasmKernelThreads(1);
    net.dispose();
    model.dispose();
  }
}
