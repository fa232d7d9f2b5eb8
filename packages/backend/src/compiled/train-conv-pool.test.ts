import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerWasmTrainingKernels } from '../register.js';
import { onBackend, randomArray, relativeError, seededVariable } from '../testing/helpers.js';
import * as tf from '../tfjs.js';
import { useBackend } from '../use-backend.js';
import { setConvPoolTanhHalvesEnabled, setTrainNarrowPoolEnabled } from '../wasm-kernels/conv2d.js';
import {
  setTrainPoolBackwardEnabled,
  setTrainPoolFilterGradEnabled,
  setTrainPoolSparseFilterGradEnabled,
  setTrainPoolSparseInputGradEnabled,
  setTrainPoolSparseRowsEnabled,
} from '../wasm-kernels/conv2d-backprop-filter.js';
import { setWasmKernelThreads } from '../wasm-kernels/kernel-threads.js';
import { setPoolArgmaxMinFloats } from '../wasm-kernels/pool-util.js';
import { splitCalls } from '../wasm-kernels/split.js';
import {
  setTrainConvAvgPoolFusionEnabled,
  setTrainConvPoolFusionEnabled,
  trainConvAvgPoolFusionEnabled,
  trainConvPoolFusionEnabled,
} from './fold.js';
import type { NetActivation, NetLayer, NetSpec } from './net-spec.js';
import type { Stage } from './stage.js';
import { type CompiledTrainingNet, compileTrainingNet } from './training-net.js';

beforeAll(async () => {
  await registerWasmTrainingKernels();
  await useBackend('wasm');
});

afterAll(async () => {
  await setWasmKernelThreads(1);
});

/** The poolings of lenetSpec and its first conv's activation. */
interface Pools {
  op: 'max' | 'avg';
  act1: NetActivation;
}

const MAX_RELU: Pools = { op: 'max', act1: 'relu' };

/**
 * A LeNet-5-like spec on fresh variables (the same values for the same seed): conv 5×5 valid
 * (6 filters, `act1`) on [h, h, 1], 2×2/2 pooling (`op`), conv 3×3 same (16 filters, `act2`),
 * pooling, flatten, a softmax dense layer of 10.
 */
function lenetSpec(h: number, act2: NetActivation, pools = MAX_RELU): { spec: NetSpec; vars: tf.Variable[] } {
  const { op, act1 } = pools;
  const o1 = h - 4;
  const p2 = Math.floor(Math.floor(o1 / 2) / 2);
  const vars = [
    seededVariable([5, 5, 1, 6], 1, 0.4),
    seededVariable([6], 2, 0.1),
    seededVariable([3, 3, 6, 16], 3, 0.3),
    seededVariable([16], 4, 0.1),
    seededVariable([p2 * p2 * 16, 10], 5, 0.2),
    seededVariable([10], 6, 0.1),
  ];
  const spec: NetSpec = {
    input: [h, h, 1],
    layers: [
      {
        type: 'conv2d',
        kernel: vars[0],
        bias: vars[1],
        strides: [1, 1],
        padding: 'valid',
        activation: act1,
      },
      { type: 'pool', op, size: [2, 2], strides: [2, 2] },
      { type: 'conv2d', kernel: vars[2], bias: vars[3], strides: [1, 1], padding: 'same', activation: act2 },
      { type: 'pool', op, size: [2, 2], strides: [2, 2] },
      { type: 'flatten' },
      { type: 'dense', kernel: vars[4], bias: vars[5], activation: 'softmax' },
    ],
  };
  return { spec, vars };
}

/** Compiles `spec` with the conv + max pooling and conv + average pooling fusions on or off. */
function compile(spec: NetSpec, fused: boolean, avgFused = fused): CompiledTrainingNet {
  const was = [trainConvPoolFusionEnabled(), trainConvAvgPoolFusionEnabled()];
  setTrainConvPoolFusionEnabled(fused);
  setTrainConvAvgPoolFusionEnabled(avgFused);
  try {
    const net = compileTrainingNet(spec);
    if (net === undefined) throw new Error('no compiled training net on wasm');
    return net;
  } finally {
    setTrainConvPoolFusionEnabled(was[0]);
    setTrainConvAvgPoolFusionEnabled(was[1]);
  }
}

function stageNames(net: CompiledTrainingNet): string[] {
  return (net as unknown as { stages: Stage[] }).stages.map((s) => s.constructor.name);
}

/** The bits of each array (NaN payloads and zeros' signs compared too). */
function bits(arrays: readonly Float32Array[]): Uint32Array[] {
  return arrays.map((a) => new Uint32Array(Float32Array.from(a).buffer));
}

/**
 * `steps` training steps (forward, loss gradient from a random target, backward, an SGD update)
 * of a fresh lenetSpec, fused or not: each step's output and gradients, and the weights after.
 */
function train(
  h: number,
  act2: NetActivation,
  n: number,
  fused: boolean,
  x: Float32Array,
  steps = 3,
  pools = MAX_RELU,
) {
  const { spec, vars } = lenetSpec(h, act2, pools);
  const net = compile(spec, fused);
  const names = stageNames(net);
  const seen: Uint32Array[] = [];
  const stages = (net as unknown as { stages: Stage[] }).stages;
  let redone: boolean[] = [];
  for (let s = 0; s < steps; s++) {
    seen.push(...bits([net.forward(x, n, [])]));
    // Which fused stages met a NaN conv output and ran this step unfused.
    redone = stages.flatMap((st) => ('redone' in st ? [st.redone as boolean] : []));
    const probs = net.softmax();
    const target = randomArray(n * 10, 40 + s);
    net.outputGradient().set(probs.map((p, i) => p - target[i]));
    net.backward();
    seen.push(...bits(net.gradients()));
    net.applyUpdate([], ({ grads, weights, next }) => {
      next.forEach((out, i) => {
        for (let j = 0; j < out.length; j++) out[j] = weights[i][j] - 0.05 * grads[i][j];
      });
    });
  }
  seen.push(...bits(vars.map((v) => v.dataSync() as Float32Array)));
  net.dispose();
  tf.dispose(vars);
  return { names, seen, redone };
}

function expectSame(a: { seen: Uint32Array[] }, b: { seen: Uint32Array[] }): void {
  expect(a.seen.length).toBe(b.seen.length);
  a.seen.forEach((s, i) => {
    expect(s, `array ${i}`).toEqual(b.seen[i]);
  });
}

/** The conv + max pooling backward pass's sparse kernels on or off (their own summation order). */
function setSparse(on: boolean): void {
  setTrainPoolSparseFilterGradEnabled(on);
  setTrainPoolSparseInputGradEnabled(on);
}

describe('the compiled training step with conv + max pooling fused', () => {
  // Bit for bit the unfused step: the second conv's backward pass without the sparse kernels
  // (tested on their own below).
  beforeAll(() => setSparse(false));
  afterAll(() => setSparse(true));

  it('fuses each relu or linear conv with the max pooling after it, bit for bit the unfused step (batches 1, 5)', () => {
    for (const act2 of ['relu', 'linear'] as const) {
      for (const n of [1, 5]) {
        const x = randomArray(n * 16 * 16, 7 + n);
        const fused = train(16, act2, n, true, x);
        const plain = train(16, act2, n, false, x);
        expect(fused.names.slice(0, 2)).toEqual(['ConvPoolStage', 'ConvPoolStage']);
        expect(plain.names.slice(0, 4)).toEqual(['ConvStage', 'PoolStage', 'ConvStage', 'PoolStage']);
        expectSame(fused, plain);
      }
    }
  });

  it("keeps the unfused step's ties, ±0, NaN and ±Infinity, with the pooling's argmax kept or not", () => {
    const n = 5;
    const x = randomArray(n * 16 * 16, 21);
    // Image 1 constant (every window a tie), image 2 with a NaN, image 3 huge (±Infinity conv
    // outputs), image 4 negative (relu zeros, ties at 0).
    x.fill(0.5, 256, 512);
    x[512 + 100] = Number.NaN;
    x.fill(3e38, 768, 768 + 40);
    x.fill(-3e38, 768 + 40, 768 + 80);
    for (let i = 1024; i < 1280; i++) x[i] = -Math.abs(x[i]);
    for (const minFloats of [0, Number.POSITIVE_INFINITY]) {
      const previous = setPoolArgmaxMinFloats(minFloats);
      try {
        expectSame(train(16, 'linear', n, true, x, 1), train(16, 'linear', n, false, x, 1));
        const fused = train(16, 'relu', n, true, x, 1);
        expect(fused.redone).toEqual([true, true]);
        expectSame(fused, train(16, 'relu', n, false, x, 1));
        // Without the NaN image: the fused backward pass (not its unfused redo) on ties and zeros.
        const clean = x.slice();
        clean[512 + 100] = 0;
        clean.fill(0.25, 768, 768 + 80);
        const cleanFused = train(16, 'relu', n, true, clean);
        expect(cleanFused.redone).toEqual([false, false]);
        expectSame(cleanFused, train(16, 'relu', n, false, clean));
      } finally {
        setPoolArgmaxMinFloats(previous);
      }
    }
  });

  it('splits the fused forward pass over the helper threads by images, with the same results', async () => {
    const n = 80;
    const x = randomArray(n * 16 * 16, 33);
    const plain = train(16, 'relu', n, false, x, 2);
    const one = train(16, 'relu', n, true, x, 2);
    await setWasmKernelThreads(2);
    try {
      const before = splitCalls();
      const two = train(16, 'relu', n, true, x, 2);
      expect(splitCalls()).toBeGreaterThan(before);
      expectSame(two, plain);
      // A NaN in the helper's last image: its flag comes back with the pooled values.
      const nan = x.slice();
      nan[(n - 1) * 256 + 77] = Number.NaN;
      expect(train(16, 'relu', n, true, nan, 1).redone).toEqual([true, true]);
    } finally {
      await setWasmKernelThreads(1);
    }
    expectSame(one, plain);
  });

  it('leaves the stages as they were with the switch off, or where the fusion does not fit', () => {
    const x = randomArray(2 * 15 * 15, 5);
    // 15×15 input: 11×11 and 5×5 conv outputs, whose poolings drop a row and a column.
    const odd = train(15, 'relu', 2, true, x, 1);
    expect(odd.names.slice(0, 4)).toEqual(['ConvStage', 'PoolStage', 'ConvStage', 'PoolStage']);
    expectSame(odd, train(15, 'relu', 2, false, x, 1));
    const { spec, vars } = lenetSpec(16, 'tanh');
    const tanh = compile(spec, true);
    expect(stageNames(tanh).slice(0, 4)).toEqual([
      'ConvPoolStage',
      'ConvStage',
      'PoolStage',
      'PassThroughStage',
    ]);
    tanh.dispose();
    const off = compile(spec, false);
    expect(stageNames(off)).toEqual([
      'ConvStage',
      'PoolStage',
      'ConvStage',
      'PoolStage',
      'PassThroughStage',
      'DenseStage',
    ]);
    off.dispose();
    tf.dispose(vars);
  });
});

describe('the compiled training step with conv + average pooling fused', () => {
  const avg = (act: NetActivation): Pools => ({ op: 'avg', act1: act });

  it('fuses each conv (tanh, relu, linear) with the average pooling after it, bit for bit the unfused step (batches 1, 5)', () => {
    for (const act of ['tanh', 'relu', 'linear'] as const) {
      for (const n of [1, 5]) {
        const x = randomArray(n * 16 * 16, 9 + n);
        const fused = train(16, act, n, true, x, 3, avg(act));
        const plain = train(16, act, n, false, x, 3, avg(act));
        expect(fused.names.slice(0, 2)).toEqual(['ConvPoolStage', 'ConvPoolStage']);
        expect(plain.names.slice(0, 4)).toEqual(['ConvStage', 'PoolStage', 'ConvStage', 'PoolStage']);
        expectSame(fused, plain);
      }
    }
  });

  it("computes the same with two pixels' 6th-channel tanh in one vector or not", () => {
    const x = randomArray(3 * 16 * 16, 31);
    const halves = train(16, 'tanh', 3, true, x, 2, avg('tanh'));
    setConvPoolTanhHalvesEnabled(false);
    try {
      expectSame(halves, train(16, 'tanh', 3, true, x, 2, avg('tanh')));
    } finally {
      setConvPoolTanhHalvesEnabled(true);
    }
  });

  it("keeps the unfused step's NaN, ±Infinity and saturated tanh without redoing it", () => {
    const n = 4;
    const x = randomArray(n * 16 * 16, 23);
    // Image 1 with a NaN, image 2 huge (±Infinity conv outputs), image 3 saturating tanh.
    x[256 + 100] = Number.NaN;
    x.fill(3e38, 512, 512 + 40);
    x.fill(-3e38, 512 + 40, 512 + 80);
    x.fill(40, 768, 1024);
    for (const act of ['tanh', 'relu'] as const) {
      const fused = train(16, act, n, true, x, 1, avg(act));
      expect(fused.redone).toEqual([false, false]);
      expectSame(fused, train(16, act, n, false, x, 1, avg(act)));
    }
  });

  it('splits the fused forward pass over the helper threads by images, with the same results', async () => {
    const n = 80;
    const x = randomArray(n * 16 * 16, 35);
    await setWasmKernelThreads(2);
    try {
      // The unfused filter gradient splits its sums over the threads too: both sides on 2.
      const plain = train(16, 'tanh', n, false, x, 2, avg('tanh'));
      const before = splitCalls();
      const two = train(16, 'tanh', n, true, x, 2, avg('tanh'));
      expect(splitCalls()).toBeGreaterThan(before);
      expectSame(two, plain);
    } finally {
      await setWasmKernelThreads(1);
    }
  });

  it('leaves the stages as they were with its switch off, or where the fusion does not fit', () => {
    const { spec, vars } = lenetSpec(16, 'tanh', avg('tanh'));
    const off = compile(spec, true, false);
    expect(stageNames(off).slice(0, 4)).toEqual(['ConvStage', 'PoolStage', 'ConvStage', 'PoolStage']);
    off.dispose();
    tf.dispose(vars);
    const x = randomArray(2 * 15 * 15, 6);
    const odd = train(15, 'tanh', 2, true, x, 1, avg('tanh'));
    expect(odd.names.slice(0, 4)).toEqual(['ConvStage', 'PoolStage', 'ConvStage', 'PoolStage']);
    expectSame(odd, train(15, 'tanh', 2, false, x, 1, avg('tanh')));
  });
});

/**
 * A Keras-like first layer on fresh variables: conv 3×3 same (1 → 32 filters, relu) on [10, 10, 1]
 * (100 conv outputs an image: the bias gradient's 64-row blocks end inside images and rows),
 * 2×2/2 max pooling, flatten, a softmax dense layer of 10.
 */
function narrowSpec(second = false): { spec: NetSpec; vars: tf.Variable[] } {
  const ci = second ? 4 : 1;
  const vars = [
    seededVariable([3, 3, ci, 32], 11, 0.5),
    seededVariable([32], 12, 0.1),
    seededVariable([5 * 5 * 32, 10], 13, 0.1),
    seededVariable([10], 14, 0.1),
  ];
  // `second`: a conv 1 → 4 before it, so that the fused layer's input gradient is taken.
  const before = second ? [seededVariable([3, 3, 1, 4], 15, 0.5), seededVariable([4], 16, 0.1)] : [];
  vars.push(...before);
  const spec: NetSpec = {
    input: [10, 10, 1],
    layers: [
      ...(second
        ? [
            {
              type: 'conv2d' as const,
              kernel: before[0],
              bias: before[1],
              strides: [1, 1] as [number, number],
              padding: 'same' as const,
              activation: 'relu' as const,
            },
          ]
        : []),
      {
        type: 'conv2d',
        kernel: vars[0],
        bias: vars[1],
        strides: [1, 1],
        padding: 'same',
        activation: 'relu',
      },
      { type: 'pool', op: 'max', size: [2, 2], strides: [2, 2] },
      { type: 'flatten' },
      { type: 'dense', kernel: vars[2], bias: vars[3], activation: 'softmax' },
    ],
  };
  return { spec, vars };
}

/**
 * Two SGD steps of `net` on `x` (loss gradient from a random target seeded `seed` + step), as
 * floats: each step's output and gradients; `afterForward` runs after each forward pass.
 */
function sgdSteps(
  net: CompiledTrainingNet,
  x: Float32Array,
  n: number,
  seed: number,
  afterForward = () => {},
) {
  const seen: Float32Array[] = [];
  for (let s = 0; s < 2; s++) {
    seen.push(Float32Array.from(net.forward(x, n, [])));
    afterForward();
    const probs = net.softmax();
    const target = randomArray(n * 10, seed + s);
    net.outputGradient().set(probs.map((p, i) => p - target[i]));
    net.backward();
    seen.push(...net.gradients().map((g) => Float32Array.from(g)));
    net.applyUpdate([], ({ grads, weights, next }) => {
      next.forEach((out, i) => {
        for (let j = 0; j < out.length; j++) out[j] = weights[i][j] - 0.05 * grads[i][j];
      });
    });
  }
  return seen;
}

/**
 * Two SGD steps of a fresh narrowSpec with the narrow input's fused kernel on or off, and its
 * filter gradient from the pooled gradient (`poolDw`) on or off: as `train`, as floats.
 */
function trainNarrow(narrow: boolean, n: number, x: Float32Array, poolDw = true, second = false) {
  setTrainNarrowPoolEnabled(narrow);
  setTrainPoolFilterGradEnabled(poolDw);
  try {
    const { spec, vars } = narrowSpec(second);
    const net = compile(spec, true);
    const names = stageNames(net);
    const stages = (net as unknown as { stages: Stage[] }).stages;
    let redone = false;
    const seen = sgdSteps(net, x, n, 50, () => {
      redone = stages.some((st) => 'redone' in st && st.redone === true);
    });
    seen.push(...vars.map((v) => v.dataSync() as Float32Array));
    net.dispose();
    tf.dispose(vars);
    return { names, seen, redone };
  } finally {
    setTrainNarrowPoolEnabled(true);
    setTrainPoolFilterGradEnabled(true);
  }
}

/** The same bits in each array (NaN payloads and zeros' signs compared too). */
function expectBits(got: readonly Float32Array[], want: readonly Float32Array[]): void {
  expectSame({ seen: bits(got) }, { seen: bits(want) });
}

describe('the compiled training step on a narrow input with 32 filters', () => {
  it('fuses the direct conv with the max pooling after it (its filter gradient from the pooled gradient or not), bit for bit the wide kernel and unfused pooling', () => {
    for (const n of [1, 6]) {
      const x = randomArray(n * 100, 60 + n);
      const plain = trainNarrow(false, n, x);
      expect(plain.names.slice(0, 3)).toEqual(['ConvStage', 'PoolStage', 'PassThroughStage']);
      for (const poolDw of [true, false]) {
        const fused = trainNarrow(true, n, x, poolDw);
        expect(fused.names.slice(0, 2)).toEqual(['ConvPoolStage', 'PassThroughStage']);
        expect(fused.redone).toBe(false);
        expectBits(fused.seen, plain.seen);
      }
    }
  });

  it('takes the input gradient from the pooled gradient spread to the conv output where a layer before it needs one', () => {
    // Its input gradient kernel (32 filters: Winograd or wide) read the pooled gradient as if it
    // were the conv output's (a quarter of it, then whatever followed in memory).
    const n = 3;
    const x = randomArray(n * 100, 70);
    const plain = trainNarrow(false, n, x, true, true);
    expect(plain.names.slice(0, 3)).toEqual(['ConvStage', 'ConvStage', 'PoolStage']);
    const fused = trainNarrow(true, n, x, true, true);
    expect(fused.names.slice(0, 3)).toEqual(['ConvStage', 'ConvPoolStage', 'PassThroughStage']);
    expectBits(fused.seen, plain.seen);
  });

  it("computes the cpu backend's gradients within 1e-3", async () => {
    const n = 8;
    const x = randomArray(n * 100, 80);
    const { spec, vars } = narrowSpec();
    const init = vars.map((v) => ({ data: Float32Array.from(v.dataSync()), shape: v.shape }));
    const net = compile(spec, true);
    expect(stageNames(net)[0]).toBe('ConvPoolStage');
    net.forward(x, n, []);
    const target = randomArray(n * 10, 81);
    const g = net.softmax().map((p, i) => p - target[i]);
    net.outputGradient().set(g);
    net.backward();
    const got = net.gradients().map((a) => Float32Array.from(a));
    net.dispose();
    tf.dispose(vars);
    try {
      // The loss's gradient at the logits is g: the gradients of Σ logits · g.
      const want = await onBackend('cpu', () => {
        const [w, b, w2, b2] = init.map(({ data, shape }) => tf.tensor(data, shape));
        const xt = tf.tensor(x, [n, 10, 10, 1]);
        const gt = tf.tensor(g, [n, 10]);
        return tf.grads((w: tf.Tensor, b: tf.Tensor, w2: tf.Tensor, b2: tf.Tensor) => {
          const y = tf.maxPool(
            tf.relu(tf.add(tf.conv2d(xt as tf.Tensor4D, w as tf.Tensor4D, 1, 'same'), b)) as tf.Tensor4D,
            2,
            2,
            'valid',
          );
          return tf.sum(tf.mul(tf.add(tf.matMul(tf.reshape(y, [n, 800]), w2), b2), gt));
        })([w, b, w2, b2]);
      });
      expect(want.length).toBe(got.length);
      got.forEach((a, i) => {
        expect(relativeError(a, want[i]), `gradient ${i}`).toBeLessThan(1e-3);
      });
    } finally {
      await tf.setBackend('wasm');
    }
  });

  it('redoes a step with a NaN conv output unfused, bit for bit the unfused stages', async () => {
    const n = 6;
    const x = randomArray(n * 100, 70);
    x[3 * 100 + 20] = Number.NaN;
    const fused = trainNarrow(true, n, x);
    expect(fused.redone).toBe(true);
    expectBits(fused.seen, trainNarrow(false, n, x).seen);
    // Split over the helper threads by images (96 images: enough multiply-adds to split), a NaN
    // in the helper's last image: the same.
    const big = randomArray(96 * 100, 71);
    big[95 * 100 + 9] = Number.NaN;
    const plain = trainNarrow(false, 96, big);
    await setWasmKernelThreads(2);
    try {
      const before = splitCalls();
      const two = trainNarrow(true, 96, big);
      expect(splitCalls()).toBeGreaterThan(before);
      expect(two.redone).toBe(true);
      expectBits(two.seen, plain.seen);
      big[95 * 100 + 9] = 0;
      expectBits(trainNarrow(true, 96, big).seen, trainNarrow(false, 96, big).seen);
    } finally {
      await setWasmKernelThreads(1);
    }
  });
});

/**
 * LeNet-5's shape on fresh variables: conv 5×5 valid (1 → `filters1`, relu) on [h, h, 1], 2×2/2
 * max pooling, conv 5×5 (→ 16, relu, `padding`), 2×2/2 max pooling, flatten, a softmax dense
 * layer of 10. The second conv takes the direct filter and input gradients; the first one's
 * filter gradient runs from the pooled gradient too with 8 filters, or with 6 and the sparse
 * filter gradient.
 */
function lenet5Spec(
  h: number,
  padding: 'valid' | 'same',
  filters1 = 6,
  filters2 = 16,
): { spec: NetSpec; vars: tf.Variable[] } {
  const p1 = (h - 4) / 2;
  const p2 = (padding === 'valid' ? p1 - 4 : p1) / 2;
  const vars = [
    seededVariable([5, 5, 1, filters1], 91, 0.4),
    seededVariable([filters1], 92, 0.1),
    seededVariable([5, 5, filters1, filters2], 93, 0.2),
    seededVariable([filters2], 94, 0.1),
    seededVariable([p2 * p2 * filters2, 10], 95, 0.2),
    seededVariable([10], 96, 0.1),
  ];
  const conv = (kernel: tf.Variable, bias: tf.Variable, pad: 'valid' | 'same'): NetLayer => ({
    type: 'conv2d',
    kernel,
    bias,
    strides: [1, 1],
    padding: pad,
    activation: 'relu',
  });
  const pool: NetLayer = { type: 'pool', op: 'max', size: [2, 2], strides: [2, 2] };
  const spec: NetSpec = {
    input: [h, h, 1],
    layers: [
      conv(vars[0], vars[1], 'valid'),
      pool,
      conv(vars[2], vars[3], padding),
      pool,
      { type: 'flatten' },
      { type: 'dense', kernel: vars[4], bias: vars[5], activation: 'softmax' },
    ],
  };
  return { spec, vars };
}

/** Which of the pooled backward pass (`pooled`) and its sparse filter (`dw`) and input (`dx`) gradients run. */
interface PoolBackward {
  pooled: boolean;
  dw: boolean;
  dx: boolean;
}

/**
 * Two SGD steps of a fresh lenet5Spec (both poolings fused) with the switches of `use`: each
 * step's output and gradients, and the weights after, as floats.
 */
function trainLenet5(
  x: Float32Array,
  n: number,
  use: PoolBackward,
  { h = 28, padding = 'valid' as 'valid' | 'same', filters1 = 6, filters2 = 16 } = {},
) {
  setTrainPoolBackwardEnabled(use.pooled);
  setTrainPoolSparseFilterGradEnabled(use.dw);
  setTrainPoolSparseInputGradEnabled(use.dx);
  try {
    const { spec, vars } = lenet5Spec(h, padding, filters1, filters2);
    const net = compile(spec, true);
    const names = stageNames(net);
    const seen = sgdSteps(net, x, n, 60);
    seen.push(...vars.map((v) => Float32Array.from(v.dataSync())));
    net.dispose();
    tf.dispose(vars);
    return { names, seen };
  } finally {
    setTrainPoolBackwardEnabled(true);
    setSparse(true);
  }
}

const DENSE: PoolBackward = { pooled: true, dw: false, dx: false };
const UNFUSED: PoolBackward = { pooled: false, dw: false, dx: false };
const SPARSE: PoolBackward[] = [
  { pooled: true, dw: true, dx: false },
  { pooled: true, dw: false, dx: true },
  { pooled: true, dw: true, dx: true },
];

/** Each array of `got` within `tolerance` (relative to the largest value) of `want`'s. */
function expectClose(got: readonly Float32Array[], want: readonly Float32Array[], tolerance: number): void {
  expect(got.length).toBe(want.length);
  got.forEach((a, i) => {
    expect(relativeError(a, want[i]), `array ${i}`).toBeLessThan(tolerance);
  });
}

describe("LeNet-5's convs: their backward pass from the pooled gradient", () => {
  it('is bit for bit the scattered gradient and the direct kernels without the sparse kernels (valid and padded, batches 1, 5)', () => {
    for (const padding of ['valid', 'same'] as const) {
      for (const n of [1, 5]) {
        const x = randomArray(n * 28 * 28, 100 + n);
        const pooled = trainLenet5(x, n, DENSE, { padding });
        expect(pooled.names.slice(0, 2)).toEqual(['ConvPoolStage', 'ConvPoolStage']);
        expectBits(pooled.seen, trainLenet5(x, n, UNFUSED, { padding }).seen);
      }
    }
    // A first layer of 8 filters: its filter gradient alone from the pooled gradient.
    const x = randomArray(3 * 28 * 28, 104);
    expectBits(
      trainLenet5(x, 3, DENSE, { filters1: 8 }).seen,
      trainLenet5(x, 3, UNFUSED, { filters1: 8 }).seen,
    );
  });

  it('skips the windows’ zeros in the filter and input gradients within 1e-5 of the dense sums (ties and zeros too; the first layer too: 6 filters, its filter gradient alone)', () => {
    const n = 5;
    const x = randomArray(n * 28 * 28, 105);
    // Image 1 constant (ties in every window), image 2 negative (relu zeros).
    x.fill(0.5, 784, 2 * 784);
    for (let i = 2 * 784; i < 3 * 784; i++) x[i] = -Math.abs(x[i]);
    for (const padding of ['valid', 'same'] as const) {
      for (const filters1 of [6, 8]) {
        const dense = trainLenet5(x, n, DENSE, { padding, filters1 });
        for (const use of SPARSE)
          expectClose(trainLenet5(x, n, use, { padding, filters1 }).seen, dense.seen, 1e-5);
      }
    }
  });

  it("sums a first layer's sparse filter gradient with all filter rows in registers or not, bit for bit", () => {
    const x = randomArray(3 * 28 * 28, 107);
    for (const filters1 of [6, 8]) {
      const rows = trainLenet5(x, 3, SPARSE[2], { filters1 });
      setTrainPoolSparseRowsEnabled(false);
      try {
        expectBits(rows.seen, trainLenet5(x, 3, SPARSE[2], { filters1 }).seen);
      } finally {
        setTrainPoolSparseRowsEnabled(true);
      }
    }
  });

  it("finds the sparse input gradient's channels by bit masks within 1e-5 of the dense sums (16 and 32 channels: compares; 12: scalar; ties)", () => {
    const n = 3;
    const x = randomArray(n * 28 * 28, 108);
    // Image 1 constant: ties in every window (the first maximum wins).
    x.fill(0.5, 784, 2 * 784);
    for (const padding of ['valid', 'same'] as const) {
      for (const filters2 of [16, 32, 12]) {
        const dense = trainLenet5(x, n, DENSE, { padding, filters2 });
        expectClose(trainLenet5(x, n, SPARSE[1], { padding, filters2 }).seen, dense.seen, 1e-5);
      }
    }
  });

  it('splits over the helper threads by images with the same results', async () => {
    const n = 40;
    const x = randomArray(n * 28 * 28, 110);
    const sparse = trainLenet5(x, n, SPARSE[2]);
    await setWasmKernelThreads(2);
    try {
      const plain = trainLenet5(x, n, UNFUSED);
      const before = splitCalls();
      expectBits(trainLenet5(x, n, DENSE).seen, plain.seen);
      expect(splitCalls()).toBeGreaterThan(before);
      // The filter gradient's partial sums split as the dense kernel's: close, not equal.
      expectClose(trainLenet5(x, n, SPARSE[2]).seen, sparse.seen, 1e-5);
    } finally {
      await setWasmKernelThreads(1);
    }
  });

  it("computes the cpu backend's gradients within 1e-3 (sparse kernels, and dense)", async () => {
    const n = 6;
    const x = randomArray(n * 28 * 28, 120);
    const { spec, vars } = lenet5Spec(28, 'valid');
    const init = vars.map((v) => ({ data: Float32Array.from(v.dataSync()), shape: v.shape }));
    const target = randomArray(n * 10, 121);
    const runs = [SPARSE[2], DENSE].map((use) => {
      setTrainPoolSparseFilterGradEnabled(use.dw);
      setTrainPoolSparseInputGradEnabled(use.dx);
      try {
        const net = compile(spec, true);
        net.forward(x, n, []);
        const g = net.softmax().map((p, i) => p - target[i]);
        net.outputGradient().set(g);
        net.backward();
        const got = net.gradients().map((a) => Float32Array.from(a));
        net.dispose();
        return { g, got };
      } finally {
        setSparse(true);
      }
    });
    tf.dispose(vars);
    try {
      for (const { g, got } of runs) {
        const want = await onBackend('cpu', () => {
          const ts = init.map(({ data, shape }) => tf.tensor(data, shape));
          const xt = tf.tensor(x, [n, 28, 28, 1]) as tf.Tensor4D;
          const gt = tf.tensor(g, [n, 10]);
          const layer = (a: tf.Tensor4D, w: tf.Tensor, b: tf.Tensor) =>
            tf.maxPool(
              tf.relu(tf.add(tf.conv2d(a, w as tf.Tensor4D, 1, 'valid'), b)) as tf.Tensor4D,
              2,
              2,
              'valid',
            );
          return tf.grads(
            (w1: tf.Tensor, b1: tf.Tensor, w2: tf.Tensor, b2: tf.Tensor, w3: tf.Tensor, b3: tf.Tensor) => {
              const y = layer(layer(xt, w1, b1), w2, b2);
              return tf.sum(tf.mul(tf.add(tf.matMul(tf.reshape(y, [n, 256]), w3), b3), gt));
            },
          )(ts);
        });
        expectClose(got, want, 1e-3);
      }
    } finally {
      await tf.setBackend('wasm');
    }
  });
});
