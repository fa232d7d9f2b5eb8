import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { BackendError } from '../errors.js';
import { randomArray, relativeError } from '../testing/helpers.js';
import { INPUT, network, perturb } from '../testing/net.js';
import { splitChainCase } from '../testing/split-chain.js';
import * as tf from '../tfjs.js';
import { useBackend } from '../use-backend.js';
import { setWinogradEnabled } from '../wasm-kernels/conv-winograd.js';
import { setDenseSparseInputEnabled, sparseInputCalls } from '../wasm-kernels/matmul.js';
import { SimdKernels, setSimdKernelsEnabled } from '../wasm-kernels/simd.js';
import { inferenceFusionEnabled, setInferenceFusionEnabled } from './fold.js';
import { type CompiledInferenceNet, compileInferenceNet, type InferenceNetOptions } from './inference-net.js';
import type { NetLayer, NetSpec } from './net-spec.js';
import { inferencePackingEnabled, setInferencePackingEnabled } from './packed-weights.js';
import type { Stage } from './stage.js';
import { compileTrainingNet } from './training-net.js';

beforeAll(async () => {
  await useBackend('wasm');
});

afterEach(() => {
  setSimdKernelsEnabled(true);
});

/** Compiles `spec` with graph fusion on or off (the switch is read when a net is compiled). */
function compile(spec: NetSpec, fusion = true, options: InferenceNetOptions = {}): CompiledInferenceNet {
  const was = inferenceFusionEnabled();
  setInferenceFusionEnabled(fusion);
  try {
    const net = compileInferenceNet(spec, options);
    if (net === undefined) throw new Error('no compiled inference net on wasm');
    return net;
  } finally {
    setInferenceFusionEnabled(was);
  }
}

/** `model.predict` on `n` samples of `x`, read back. */
function predicted(model: tf.LayersModel, x: Float32Array, n: number, logits = false): Float32Array {
  return tf
    .tidy(() => {
      const y = model.predict(tf.tensor4d(x, [n, 13, 13, 2])) as tf.Tensor;
      return logits ? tf.softmax(y) : y;
    })
    .dataSync() as Float32Array;
}

describe('compileInferenceNet', () => {
  it("gives model.predict's probabilities bit for bit without fusion, for batches larger and smaller than its buffers", () => {
    const { model, spec } = network(1);
    perturb(model);
    const net = compile(spec, false);
    expect(net.outputs).toBe(3);
    for (const [i, n] of [6, 4, 1, 9, 6].entries()) {
      const x = randomArray(n * INPUT, 10 + i);
      const out = new Float32Array(n * 3);
      expect(net.probabilities(x, n, out)).toBe(out);
      expect(out, `batch of ${n}`).toEqual(predicted(model, x, n));
    }
    net.dispose();
    model.dispose();
  });

  it('runs a batch over its buffer budget in parts, with the same probabilities', () => {
    const { model, spec } = network(5);
    perturb(model);
    const whole = compile(spec, false);
    // About 17 KB per sample here: a 40 KB budget runs a couple at a time.
    const parts = compile(spec, false, { maxBufferBytes: 40_000 });
    const x = randomArray(9 * INPUT, 21);
    const expected = predicted(model, x, 9);
    const held = (net: CompiledInferenceNet) => {
      const before = tf.memory().numBytes;
      expect(net.probabilities(x, 9)).toEqual(expected);
      return tf.memory().numBytes - before;
    };
    const [wholeBytes, partBytes] = [held(whole), held(parts)];
    expect(partBytes).toBeLessThanOrEqual(40_000);
    expect(wholeBytes).toBeGreaterThan(4 * partBytes);
    expect(() => compileInferenceNet(spec, { maxBufferBytes: 0 })).toThrow(
      /maxBufferBytes must be positive, got 0/,
    );
    whole.dispose();
    parts.dispose();
    model.dispose();
  });

  it.each([false, true])(
    'sees the weights change between calls: a compiled training step, an assign (fusion %s)',
    (fusion) => {
      const { model, spec } = network(2);
      perturb(model);
      const net = compile(spec, fusion);
      // Bit for bit unfused; a folded batch norm rounds otherwise.
      const same = (got: Float32Array, want: Float32Array) => {
        if (fusion) expect(relativeError(got, want)).toBeLessThan(1e-5);
        else expect(got).toEqual(want);
      };
      const trainer = compileTrainingNet(spec) as NonNullable<ReturnType<typeof compileTrainingNet>>;
      const x = randomArray(5 * INPUT, 3);
      const before = net.probabilities(x, 5);
      // One compiled training step: new conv and dense data, batch-norm statistics changed in place.
      trainer.forward(randomArray(8 * INPUT, 4), 8, [7]);
      trainer.softmax();
      trainer.outputGradient().set(randomArray(8 * 3, 5));
      trainer.backward();
      trainer.applyUpdate([], ({ grads, weights, next }) => {
        weights.forEach((w, k) => {
          for (let j = 0; j < w.length; j++) next[k][j] = w[j] - 0.1 * grads[k][j];
        });
      });
      const afterStep = net.probabilities(x, 5);
      expect(afterStep).not.toEqual(before);
      same(afterStep, predicted(model, x, 5));
      perturb(model);
      const afterAssign = net.probabilities(x, 5);
      expect(afterAssign).not.toEqual(afterStep);
      same(afterAssign, predicted(model, x, 5));
      trainer.dispose();
      net.dispose();
      model.dispose();
    },
  );

  it("matches a model ending in logits with XNNPACK's fused relu convolution (over 16 channels)", () => {
    const init = (k: number) => tf.initializers.glorotUniform({ seed: k });
    const model = tf.sequential({
      layers: [
        tf.layers.conv2d({
          inputShape: [13, 13, 2],
          filters: 24,
          kernelSize: 3,
          activation: 'relu',
          kernelInitializer: init(1),
        }),
        tf.layers.conv2d({
          filters: 6,
          kernelSize: 3,
          strides: 2,
          activation: 'relu',
          kernelInitializer: init(2),
        }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 4, kernelInitializer: init(3) }),
      ],
    });
    perturb(model);
    const v = model.weights.map((w) => w.read() as tf.Variable);
    const spec: NetSpec = {
      input: [13, 13, 2],
      layers: [
        { type: 'conv2d', kernel: v[0], bias: v[1], strides: [1, 1], padding: 'valid', activation: 'relu' },
        { type: 'conv2d', kernel: v[2], bias: v[3], strides: [2, 2], padding: 'valid', activation: 'relu' },
        { type: 'flatten' },
        { type: 'dense', kernel: v[4], bias: v[5], activation: 'linear' },
      ],
    };
    const net = compile(spec);
    const x = randomArray(7 * INPUT, 8);
    expect(net.probabilities(x, 7)).toEqual(predicted(model, x, 7, true));
    net.dispose();
    model.dispose();
  });

  it('keeps the Winograd filter transform and the packed dense weights per weight version until a release', () => {
    const init = (k: number) => tf.initializers.glorotUniform({ seed: k });
    const model = tf.sequential({
      layers: [
        tf.layers.conv2d({
          inputShape: [8, 8, 32],
          filters: 64,
          kernelSize: 3,
          padding: 'same',
          activation: 'relu',
          kernelInitializer: init(1),
        }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 21, activation: 'relu', kernelInitializer: init(2) }),
        tf.layers.dense({ units: 5, activation: 'softmax', kernelInitializer: init(3) }),
      ],
    });
    perturb(model);
    const v = model.weights.map((w) => w.read() as tf.Variable);
    const spec: NetSpec = {
      input: [8, 8, 32],
      layers: [
        { type: 'conv2d', kernel: v[0], bias: v[1], strides: [1, 1], padding: 'same', activation: 'relu' },
        { type: 'flatten' },
        { type: 'dense', kernel: v[2], bias: v[3], activation: 'relu' },
        { type: 'dense', kernel: v[4], bias: v[5], activation: 'softmax' },
      ],
    };
    const n = 3;
    const x = randomArray(n * 8 * 8 * 32, 21);
    const predict = () =>
      tf.tidy(() => (model.predict(tf.tensor4d(x, [n, 8, 8, 32])) as tf.Tensor).dataSync() as Float32Array);
    const frees = vi.spyOn(SimdKernels.prototype, 'free');
    // On whatever LENET_INFER_PACKING says (it is read when a net is compiled).
    const packing = inferencePackingEnabled();
    setInferencePackingEnabled(true);
    const net = compile(spec);
    setInferencePackingEnabled(packing);
    const first = net.probabilities(x, n);
    expect(first).toEqual(predict());
    // Written in place, the weights keep their data ids: the net keeps what it transformed (the
    // conv kernel, the dense kernel and its fused bias; the conv's bias is added apart, read at
    // each call) from call to call — as model.predict's XNNPACK keeps its packed copy.
    const heap = (t: tf.Variable) => (tf.backend() as BackendWasm).typedArrayFromHeap(t) as Float32Array;
    const kept = [v[0], v[2], v[3]];
    const saved = kept.map((t) => heap(t).slice());
    for (const t of kept) heap(t).fill(0.5);
    expect(net.probabilities(x, n)).toEqual(first);
    // A release frees them with the buffers (the filter transform and the two dense layers'
    // panels), so a net that is released but never disposed holds nothing: the next call
    // transforms again and so sees the in-place write.
    const freesBefore = frees.mock.calls.length;
    net.release();
    expect(frees.mock.calls.length - freesBefore).toBe(3);
    expect(net.probabilities(x, n)).not.toEqual(first);
    kept.forEach((t, i) => {
      heap(t).set(saved[i]);
    });
    net.release();
    expect(net.probabilities(x, n)).toEqual(first);
    // New data (an assign) is transformed again; so is the filter for another Winograd tile.
    perturb(model);
    const assigned = net.probabilities(x, n);
    expect(assigned).not.toEqual(first);
    expect(assigned).toEqual(predict());
    for (const tile of [2, 4] as const) {
      setWinogradEnabled(true, tile);
      expect(relativeError(net.probabilities(x, n), assigned), `tile ${tile}`).toBeLessThan(1e-5);
    }
    setWinogradEnabled(true);
    const before = frees.mock.calls.length;
    net.dispose();
    // The filter transform and the two dense layers' panels.
    expect(frees.mock.calls.length - before).toBe(3);
    frees.mockRestore();
    model.dispose();
  });

  it('keeps its buffers across calls, grows them only for a larger batch, and frees them all (release, dispose)', () => {
    const { model, spec } = network(3);
    const backend = tf.backend() as unknown as {
      dataIdMap: { numDataIds(): number };
      wasm: { HEAPU8: Uint8Array };
    };
    const dataIds = backend.dataIdMap.numDataIds();
    const tensors = tf.memory().numTensors;
    const net = compile(spec);
    const run = (n: number, i: number) => net.probabilities(randomArray(n * INPUT, i), n);
    for (let i = 0; i < 4; i++) run(i % 2 ? 64 : 7, i);
    const heap = backend.wasm.HEAPU8.byteLength;
    const inUse = backend.dataIdMap.numDataIds();
    for (let i = 4; i < 40; i++) run(i % 3 ? 64 : 7, i);
    expect(backend.dataIdMap.numDataIds()).toBe(inUse);
    expect(backend.wasm.HEAPU8.byteLength).toBe(heap);
    const x = randomArray(5 * INPUT, 99);
    const before = net.probabilities(x, 5);
    net.release();
    expect(backend.dataIdMap.numDataIds()).toBe(dataIds);
    expect(tf.memory().numTensors).toBe(tensors);
    // Laid out again at the next call, with the same result.
    expect(net.probabilities(x, 5)).toEqual(before);
    net.dispose();
    expect(backend.dataIdMap.numDataIds()).toBe(dataIds);
    expect(tf.memory().numTensors).toBe(tensors);
    model.dispose();
  });

  it('refuses misuse, and is not available without the SIMD kernels or on another backend', async () => {
    const { model, spec } = network(4);
    const net = compile(spec);
    expect(() => net.probabilities(randomArray(INPUT, 1), 2)).toThrow(
      /compiled inference net: 338 input floats for a batch of 2 samples of 338/,
    );
    expect(() => net.probabilities(randomArray(2 * INPUT, 1), 2, new Float32Array(5))).toThrow(
      /room for 5 probabilities, 6 needed/,
    );
    expect(() => compileInferenceNet({ ...spec, layers: [{ type: 'flatten' }, spec.layers[0]] })).toThrow(
      /layer 1: conv2d needs an \[h, w, c\] input, got \[338\]/,
    );
    setSimdKernelsEnabled(false);
    expect(compileInferenceNet(spec)).toBeUndefined();
    setSimdKernelsEnabled(true);
    await useBackend('cpu');
    expect(compileInferenceNet(spec)).toBeUndefined();
    expect(net.usable()).toBe(false);
    expect(() => net.probabilities(randomArray(INPUT, 1), 1)).toThrow(
      /not the wasm backend it was compiled for/,
    );
    await useBackend('wasm');
    net.dispose();
    expect(net.usable()).toBe(false);
    expect(() => net.probabilities(randomArray(INPUT, 1), 1)).toThrow(BackendError);
    model.dispose();
  });
});

/**
 * A model with a batch norm after a bias-less conv (past a dropout, then a relu), after a conv
 * with bias (then a tanh), after a dense layer (past a dropout, then a relu), and after a relu
 * dense layer (Keras's order: it cannot fold), with the batch norms' γ, β and moving statistics
 * far from their initial values; and its spec.
 */
function fusable(): { model: tf.Sequential; spec: NetSpec; norms: tf.Variable[][] } {
  const init = (k: number) => tf.initializers.glorotUniform({ seed: 30 + k });
  const bn = () => tf.layers.batchNormalization({ momentum: 0.9, epsilon: 1e-3 });
  const layers: tf.layers.Layer[] = [
    tf.layers.conv2d({
      inputShape: [13, 13, 2],
      filters: 24,
      kernelSize: 3,
      padding: 'same',
      useBias: false,
      kernelInitializer: init(1),
    }),
    bn(),
    tf.layers.dropout({ rate: 0.3 }),
    tf.layers.activation({ activation: 'relu' }),
    tf.layers.maxPooling2d({ poolSize: 2, strides: 2 }),
    tf.layers.conv2d({ filters: 6, kernelSize: 2, kernelInitializer: init(2) }),
    bn(),
    tf.layers.activation({ activation: 'tanh' }),
    tf.layers.flatten(),
    tf.layers.dense({ units: 8, kernelInitializer: init(3) }),
    bn(),
    tf.layers.dropout({ rate: 0.2 }),
    tf.layers.activation({ activation: 'relu' }),
    tf.layers.dense({ units: 7, activation: 'relu', kernelInitializer: init(4) }),
    bn(),
    tf.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: init(5) }),
  ];
  const model = tf.sequential({ layers });
  perturb(model);
  const vars = (i: number) => layers[i].weights.map((w) => w.read() as tf.Variable);
  const norms = [1, 6, 10, 14].map(vars);
  norms.forEach((norm, i) => {
    // γ in [0.5, 1.5], β and μ in [-0.5, 0.5], σ² in [0.2, 2]: [middle, half width].
    const ranges = [
      [1, 0.5],
      [0, 0.5],
      [0, 0.5],
      [1.1, 0.9],
    ];
    norm.forEach((v, k) => {
      const [mid, half] = ranges[k];
      v.assign(tf.tensor(randomArray(v.size, 70 + 4 * i + k).map((r) => mid + half * r)));
    });
  });
  const batchNorm = (i: number): NetLayer => {
    const [gamma, beta, movingMean, movingVariance] = norms[i];
    return { type: 'batchNorm', gamma, beta, movingMean, movingVariance, momentum: 0.9, epsilon: 1e-3 };
  };
  const spec: NetSpec = {
    input: [13, 13, 2],
    layers: [
      { type: 'conv2d', kernel: vars(0)[0], strides: [1, 1], padding: 'same', activation: 'linear' },
      batchNorm(0),
      { type: 'dropout', rate: 0.3 },
      { type: 'activation', activation: 'relu' },
      { type: 'pool', op: 'max', size: [2, 2], strides: [2, 2] },
      {
        type: 'conv2d',
        kernel: vars(5)[0],
        bias: vars(5)[1],
        strides: [1, 1],
        padding: 'valid',
        activation: 'linear',
      },
      batchNorm(1),
      { type: 'activation', activation: 'tanh' },
      { type: 'flatten' },
      { type: 'dense', kernel: vars(9)[0], bias: vars(9)[1], activation: 'linear' },
      batchNorm(2),
      { type: 'dropout', rate: 0.2 },
      { type: 'activation', activation: 'relu' },
      { type: 'dense', kernel: vars(13)[0], bias: vars(13)[1], activation: 'relu' },
      batchNorm(3),
      { type: 'dense', kernel: vars(15)[0], bias: vars(15)[1], activation: 'softmax' },
    ],
  };
  return { model, spec, norms };
}

/** The class names of a compiled net's stages, in order. */
function stageNames(net: CompiledInferenceNet): string[] {
  return (net as unknown as { stages: Stage[] }).stages.map((st) => st.constructor.name);
}

describe('compileInferenceNet graph fusion', () => {
  // Tolerance: the largest difference over the largest probability, below 1e-5 (float32
  // rounding of the folded weights; the differences seen are about 1e-7).
  const TOLERANCE = 1e-5;

  it('folds batch norms after linear conv and dense layers and runs the activations inside them, within float32 rounding of the unfused pass and model.predict', () => {
    const { model, spec } = fusable();
    const fused = compile(spec);
    const plain = compile(spec, false);
    // One stage per layer unfused; fused, the three batch norms after a linear layer and the
    // activations after them go (the dropouts and the flatten stay as pass-through stages), the
    // one after a relu layer stays; the first conv (a narrow input: the direct kernel) takes the
    // pooling too.
    expect(stageNames(plain)).toHaveLength(spec.layers.length);
    expect(stageNames(plain).filter((s) => s === 'BatchNormStage')).toHaveLength(4);
    expect(stageNames(fused)).toEqual([
      'ConvPoolStage',
      'PassThroughStage',
      'ConvStage',
      'PassThroughStage',
      'DenseStage',
      'PassThroughStage',
      'DenseStage',
      'BatchNormStage',
      'DenseStage',
    ]);
    for (const [i, n] of [5, 1].entries()) {
      const x = randomArray(n * INPUT, 40 + i);
      const expected = predicted(model, x, n);
      const unfused = plain.probabilities(x, n);
      expect(unfused).toEqual(expected);
      const got = fused.probabilities(x, n);
      expect(relativeError(got, unfused), `batch of ${n}`).toBeLessThan(TOLERANCE);
      // The fold changes the rounding (so this could not pass by running the unfused stages).
      expect(got).not.toEqual(unfused);
    }
    fused.dispose();
    plain.dispose();
    model.dispose();
  });

  it("folds again when a batch norm's statistics or γ change in place, or a kernel gets new data, between calls", () => {
    const { model, spec, norms } = fusable();
    const net = compile(spec);
    const x = randomArray(4 * INPUT, 60);
    const first = net.probabilities(x, 4);
    expect(relativeError(first, predicted(model, x, 4))).toBeLessThan(TOLERANCE);
    // Written in place (as the compiled training step writes them): same data ids.
    const heap = (t: tf.Variable) => (tf.backend() as BackendWasm).typedArrayFromHeap(t) as Float32Array;
    for (const [k, which] of [
      [0, 3], // the first conv's moving variance
      [2, 2], // the dense layer's moving mean
      [1, 0], // the second conv's γ
    ] as const) {
      const before = net.probabilities(x, 4);
      const v = heap(norms[k][which]);
      v.set(v.map((a) => a * 1.7 + 0.1));
      const after = net.probabilities(x, 4);
      expect(after, `batch norm ${k}, variable ${which}`).not.toEqual(before);
      expect(relativeError(after, predicted(model, x, 4))).toBeLessThan(TOLERANCE);
    }
    // New kernel data (an assign) is folded again too.
    const kernel = model.layers[0].weights[0].read() as tf.Variable;
    const before = net.probabilities(x, 4);
    kernel.assign(tf.mul(kernel, 1.5));
    const after = net.probabilities(x, 4);
    expect(after).not.toEqual(before);
    expect(relativeError(after, predicted(model, x, 4))).toBeLessThan(TOLERANCE);
    net.dispose();
    model.dispose();
  });

  it('folds a batch norm whose variance + ε is negative into NaN weights, giving what the unfused pass gives', () => {
    const { model, spec, norms } = fusable();
    const variance = norms[0][3];
    variance.assign(tf.fill(variance.shape, -1));
    const fused = compile(spec);
    const plain = compile(spec, false);
    const x = randomArray(2 * INPUT, 61);
    // Both keep the NaN through the relu, as PyTorch's relu does (model.predict's wasm relu turns
    // it into 0 and gives finite probabilities here).
    const unfused = plain.probabilities(x, 2);
    expect(unfused.every((p) => Number.isNaN(p))).toBe(true);
    expect(fused.probabilities(x, 2)).toEqual(unfused);
    fused.dispose();
    plain.dispose();
    model.dispose();
  });
});

describe('compileInferenceNet over helper threads', () => {
  it("runs the helpers' shares in place on the shared heap: nothing copied, the probabilities bit for bit", async () => {
    const got = await splitChainCase();
    expect(got.shared).toBe(true);
    for (const r of [got.off, got.on]) {
      expect(r.calls).toBeGreaterThanOrEqual(3);
      expect(r.copied).toBe(0);
      expect(r.p).toEqual(got.one);
    }
    expect(Number.isNaN(got.on.p[0])).toBe(true);
    expect(Number.isNaN(got.on.p[10])).toBe(false);
    expect(got.later.on).toEqual(got.later.off);
  });
});

describe('compileInferenceNet on a mostly-zero input', () => {
  it("gives the dense products' probabilities bit for bit with its first dense layer over the input's nonzero entries, and the dense ones for an infinite weight", () => {
    const init = (k: number) => tf.initializers.glorotUniform({ seed: 40 + k });
    const layers = [
      tf.layers.flatten({ inputShape: [6, 6, 1] }),
      tf.layers.dense({
        units: 8,
        activation: 'relu',
        kernelInitializer: init(1),
        biasInitializer: 'glorotUniform',
      }),
      tf.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: init(2) }),
    ];
    const model = tf.sequential({ layers });
    const vars = (l: tf.layers.Layer) => l.weights.map((w) => w.read() as tf.Variable);
    const [k1, b1] = vars(layers[1]);
    const [k2, b2] = vars(layers[2]);
    const spec: NetSpec = {
      input: [6, 6, 1],
      layers: [
        { type: 'flatten' },
        { type: 'dense', kernel: k1, bias: b1, activation: 'relu' },
        { type: 'dense', kernel: k2, bias: b2, activation: 'softmax' },
      ],
    };
    const n = 5;
    const x = randomArray(n * 36, 14).map((v, i) => (i % 36 < 6 || v < 0.5 ? 0 : v));
    const run = (sparse: boolean) => {
      setDenseSparseInputEnabled(sparse);
      const net = compile(spec);
      const calls = sparseInputCalls();
      const out = net.probabilities(x, n, new Float32Array(n * 3));
      const sparseRuns = sparseInputCalls() - calls;
      net.dispose();
      return { out, sparseRuns };
    };
    try {
      const want = tf.tidy(() => (model.predict(tf.tensor4d(x, [n, 6, 6, 1])) as tf.Tensor).dataSync());
      const dense = run(false);
      const sparse = run(true);
      expect(dense.sparseRuns).toBe(0);
      expect(sparse.sparseRuns).toBe(1);
      expect(sparse.out).toEqual(dense.out);
      expect(relativeError(sparse.out, want as Float32Array)).toBeLessThan(1e-5);
      // An infinite weight in a row the input leaves at zero: 0·∞ makes the dense sums NaN.
      const w = k1.dataSync().slice();
      w[0] = Number.POSITIVE_INFINITY;
      k1.assign(tf.tensor2d(w, [36, 8]));
      const denseInf = run(false);
      const sparseInf = run(true);
      expect(denseInf.out.some((v) => Number.isNaN(v))).toBe(true);
      expect(sparseInf.out).toEqual(denseInf.out);
    } finally {
      setDenseSparseInputEnabled(true);
      model.dispose();
    }
  });
});
