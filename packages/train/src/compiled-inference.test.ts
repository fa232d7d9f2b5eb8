import {
  inferenceFusionEnabled,
  setInferenceFusionEnabled,
  setRelaxedSimdEnabled,
  useBackend,
} from '@lenet/backend';
import { type Batch, batches, type Dataset, head } from '@lenet/datasets';
import { presetNames } from '@lenet/models';
import { buildModel } from '@lenet/models/tf';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { COMPILED_INFERENCE_ENV } from './compiled-inference.js';
import { evaluateSums } from './evaluate.js';
import { createTrainStep, evaluate, modelClassifier, predict } from './index.js';
import { modelInfo } from './model-info.js';
import { eluSpec, mnistHead, model, synthetic } from './testing/helpers.js';
import * as tf from './tfjs.js';

let mnist: Dataset;
/**
 * The comparisons here are bit for bit with model.predict, on the kernels' plain build. On their
 * relaxed-SIMD build (the default where the runtime has it) the compiled pass's fused
 * multiply-adds round once where some of predict's products (tfjs's own kernels, or other kernels
 * of ours) round twice: within float32 rounding, checked on its own below.
 */
let relaxedBefore = true;
beforeAll(async () => {
  await useBackend('wasm');
  mnist = await mnistHead('test', 100);
  relaxedBefore = setRelaxedSimdEnabled(false);
});
afterAll(() => {
  setRelaxedSimdEnabled(relaxedBefore);
});

const fusion = inferenceFusionEnabled();
afterEach(() => {
  delete process.env[COMPILED_INFERENCE_ENV];
  setInferenceFusionEnabled(fusion);
});

/**
 * The largest difference between two sets of probabilities (each at most 1, so also relative to
 * the largest): what a batch norm folded into the layer before it changes, float32 rounding.
 */
function gap(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

/** Tolerance of the fused compiled pass against model.predict (seen: a few 1e-7). */
const FUSED_TOLERANCE = 1e-5;

/**
 * Images the model takes and a batch size that does not divide their count: 100 of MNIST, or
 * synthetic ones of its input size, fewer for the big inputs (CIFAR's 32×32×3, 256×256×3).
 */
function dataFor(m: tf.LayersModel): { ds: Dataset; batchSize: number } {
  const [, height, width, channels] = m.inputs[0].shape as number[];
  if (height === 28 && channels === 1) return { ds: mnist, batchSize: 48 };
  const classes = m.outputs[0].shape[1] as number;
  const [count, batchSize] = height > 32 ? [5, 2] : [20, 8];
  const labels = Uint8Array.from({ length: count }, (_, i) => i % classes);
  const classNames = Array.from({ length: classes }, (_, i) => String(i));
  return { ds: synthetic(count, { height, width, channels, labels, classNames }), batchSize };
}

/** `model.predict` over the whole set (its own batches of 32), read back. */
function predicted(m: tf.LayersModel, ds: Dataset): Float32Array {
  const [batch] = [...batches(ds, { batchSize: ds.count, normalize: 'unit', layout: 'NHWC' })];
  return tf.tidy(() =>
    (m.predict(tf.tensor4d(batch.x, batch.shape)) as tf.Tensor).dataSync(),
  ) as Float32Array;
}

/** Two compiled training steps: new weights, moved batch-norm statistics. */
function train(m: tf.LayersModel, ds: Dataset, seed: number): void {
  const list: Batch[] = [...batches(ds, { batchSize: 2, normalize: 'unit', layout: 'NHWC' })];
  const step = createTrainStep(m, { seed });
  expect(step.path.kind).toBe('compiled');
  step.run(list[0], 1e-3, 0);
  step.run(list[1], 1e-3, 1);
  step.dispose();
}

describe('evaluate and predict of a TensorFlow.js model, compiled (wasm)', () => {
  // Every preset is covered.
  it.each(presetNames())(
    "%s: model.predict's probabilities bit for bit without graph fusion, in batches that do not divide the set, after training in between",
    async (name) => {
      setInferenceFusionEnabled(false);
      const m = model(name, 5).model;
      const { ds, batchSize } = dataFor(m);
      try {
        train(m, ds, 1);
        const first = await evaluate(m, ds, { batchSize, probabilities: true });
        expect(first.path).toEqual({ kind: 'compiled', reason: null });
        expect(first.probabilities).toEqual(predicted(m, ds));
        const tfjs = await evaluate(m, ds, { batchSize, compiled: false });
        expect(tfjs.path).toEqual({ kind: 'tfjs', reason: 'compiled: false' });
        expect(first.loss).toBe(tfjs.loss);
        expect(Array.from(first.predictions)).toEqual(Array.from(tfjs.predictions));
        // The compiled pass reads the weights at every call: trained again, it follows.
        train(m, ds, 2);
        const second = await predict(m, ds, { batchSize: batchSize - 1 });
        expect(second.probabilities).not.toEqual(first.probabilities);
        expect(second.probabilities).toEqual(predicted(m, ds));
      } finally {
        m.dispose();
      }
    },
  );
});

describe('the compiled inference on the relaxed-SIMD build (fused multiply-adds)', () => {
  it.each(presetNames())(
    "%s: model.predict's probabilities within float32 rounding, fused or not",
    async (name) => {
      const m = model(name, 5).model;
      const { ds, batchSize } = dataFor(m);
      setRelaxedSimdEnabled(true);
      try {
        for (const fused of [false, true]) {
          setInferenceFusionEnabled(fused);
          const r = await predict(m, ds, { batchSize });
          expect(r.path).toEqual({ kind: 'compiled', reason: null });
          expect(gap(r.probabilities, predicted(m, ds))).toBeLessThan(FUSED_TOLERANCE);
        }
      } finally {
        setRelaxedSimdEnabled(false);
        m.dispose();
      }
    },
  );
});

describe('the compiled inference with graph fusion', () => {
  // Batch norms after a conv and a dense layer folded in (torch-*), activations after them run
  // inside (torch-nobn: no batch norm), a batch norm after a relu left as it is (keras-bn).
  it.each(['torch-bn', 'torch-2conv3fc', 'torch-nobn', 'keras-bn'])(
    "%s: within float32 rounding of model.predict's probabilities and of the unfused pass, and follows training",
    async (name) => {
      const m = model(name, 7).model;
      const { ds, batchSize } = dataFor(m);
      try {
        train(m, ds, 3);
        setInferenceFusionEnabled(false);
        const plain = await predict(m, ds, { batchSize });
        setInferenceFusionEnabled(true);
        const fused = await predict(m, ds, { batchSize });
        expect(fused.path).toEqual({ kind: 'compiled', reason: null });
        expect(gap(fused.probabilities, plain.probabilities)).toBeLessThan(FUSED_TOLERANCE);
        expect(gap(fused.probabilities, predicted(m, ds))).toBeLessThan(FUSED_TOLERANCE);
        // A classifier keeps its net (and so its folded weights) between calls: trained in
        // between (new kernels, batch-norm statistics written in place), it follows.
        const classifier = modelClassifier(m);
        const [batch] = [...batches(ds, { batchSize: ds.count, normalize: 'unit', layout: 'NHWC' })];
        const input = { x: batch.x, shape: batch.shape };
        const before = await classifier.probabilities(input);
        train(m, ds, 4);
        const after = await classifier.probabilities(input);
        expect(gap(after, before)).toBeGreaterThan(FUSED_TOLERANCE);
        expect(gap(after, predicted(m, ds))).toBeLessThan(FUSED_TOLERANCE);
      } finally {
        m.dispose();
      }
    },
  );
});

describe('choosing the compiled inference', () => {
  it('takes model.predict when asked to, or for what it does not cover, says why, and gives the same numbers', async () => {
    const m = model('torch-bn', 2).model;
    const compiled = await predict(m, mnist, { batchSize: 64 });
    expect(compiled.path).toEqual({ kind: 'compiled', reason: null });
    expect((await predict(m, mnist, { compiled: false })).path).toEqual({
      kind: 'tfjs',
      reason: 'compiled: false',
    });
    process.env[COMPILED_INFERENCE_ENV] = '0';
    const forced = await predict(m, mnist, { batchSize: 64 });
    expect(forced.path).toEqual({ kind: 'tfjs', reason: `${COMPILED_INFERENCE_ENV}=0` });
    expect(gap(forced.probabilities, compiled.probabilities)).toBeLessThan(FUSED_TOLERANCE);
    expect(modelClassifier(m).path).toEqual({ kind: 'tfjs', reason: `${COMPILED_INFERENCE_ENV}=0` });
    delete process.env[COMPILED_INFERENCE_ENV];
    m.dispose();
    const e = buildModel(eluSpec, { seed: 1 });
    const path = (await evaluate(e, mnist)).path;
    expect(path?.kind).toBe('tfjs');
    expect(path?.reason).toMatch(/^layer \S+ \(Dense\): activation elu is not covered$/);
    e.dispose();
    const t = model('tiny').model;
    await useBackend('cpu');
    try {
      expect((await predict(t, mnist)).path).toEqual({ kind: 'tfjs', reason: 'backend cpu' });
    } finally {
      await useBackend('wasm');
    }
    t.dispose();
  });

  it('runs a frozen model compiled (inference needs no gradient)', async () => {
    const m = model('lenet5', 3).model;
    for (const layer of m.layers) layer.trainable = false;
    const r = await evaluate(m, mnist, { probabilities: true });
    expect(r.path).toEqual({ kind: 'compiled', reason: null });
    expect(r.probabilities).toEqual(predicted(m, mnist));
    m.dispose();
  });

  it('refuses a compiled option that is not a boolean', async () => {
    const m = model('tiny').model;
    await expect(predict(m, mnist, { compiled: 1 as unknown as boolean })).rejects.toThrow(
      /compiled must be true or false, got 1/,
    );
    expect(() => modelClassifier(m, { compiled: 'no' as unknown as boolean })).toThrow(
      /compiled must be true or false, got "no"/,
    );
    m.dispose();
  });
});

describe("fit's validation sums, compiled", () => {
  it('equal those on the device: the same correct count, the losses to float32 rounding', async () => {
    const m = model('torch-bn', 6).model;
    const info = modelInfo(m);
    for (const smoothing of [0, 0.1]) {
      const host = await evaluateSums(m, mnist, info, 48, 'unit', smoothing);
      const device = await evaluateSums(m, mnist, info, 48, 'unit', smoothing, false);
      expect(host.correct).toBe(device.correct);
      expect(Math.abs(host.loss - device.loss) / device.loss).toBeLessThan(1e-6);
      expect(Math.abs(host.crossEntropy - device.crossEntropy) / device.crossEntropy).toBeLessThan(1e-6);
      if (smoothing > 0) expect(host.loss).not.toBe(host.crossEntropy);
    }
    // And what evaluate reports, from the same probabilities.
    const evaluated = await evaluate(m, mnist, { batchSize: 48 });
    const sums = await evaluateSums(m, mnist, info, 48, 'unit');
    expect(evaluated.accuracy).toBe(sums.correct / mnist.count);
    expect(evaluated.loss).toBeCloseTo(sums.crossEntropy / mnist.count, 12);
    m.dispose();
  });
});

describe('the compiled inference over many calls', () => {
  it('holds no tensor and grows no heap between calls of evaluate, predict and a modelClassifier', async () => {
    const m = model('torch-bn', 4).model;
    const backend = tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } };
    const classifier = modelClassifier(m);
    expect(classifier.path).toEqual({ kind: 'compiled', reason: null });
    const [batch] = [...batches(mnist, { batchSize: 50, normalize: 'unit', layout: 'NHWC' })];
    const calls = async () => {
      await evaluate(m, mnist, { batchSize: 64 });
      await predict(m, { x: batch.x, shape: batch.shape }, { batchSize: 256 });
      return classifier.probabilities({ x: batch.x, shape: batch.shape });
    };
    const first = await calls();
    const memory = tf.memory();
    const heap = backend.wasm.HEAPU8.byteLength;
    for (let i = 0; i < 5; i++) expect(await calls()).toEqual(first);
    expect(tf.memory().numTensors).toBe(memory.numTensors);
    expect(tf.memory().numBytes).toBe(memory.numBytes);
    expect(backend.wasm.HEAPU8.byteLength).toBe(heap);
    expect(gap(first, predicted(m, head(mnist, 50)))).toBeLessThan(FUSED_TOLERANCE);
    m.dispose();
  });
});

describe("a modelClassifier's buffers between calls", () => {
  const waitForTimers = () => new Promise<void>((resolve) => setTimeout(resolve, 5));

  it('keeps them while calls follow each other, through batch sizes both ways and new weights, and frees them when the event loop turns', async () => {
    // Other classifiers' buffers (an earlier test's) go first.
    await waitForTimers();
    const m = model('lenet5', 6).model;
    const before = tf.memory();
    const classifier = modelClassifier(m);
    const [big, small] = [...batches(head(mnist, 80), { batchSize: 50, normalize: 'unit', layout: 'NHWC' })];
    const input = (b: Batch) => ({ x: b.x, shape: b.shape });
    const expected = () => predicted(m, head(mnist, 80));
    let want = expected();
    // Laid out for 30, then again for 50, which the 30 then run in.
    expect(await classifier.probabilities(input(small))).toEqual(want.slice(500));
    expect(classifier.path.kind).toBe('compiled');
    expect(await classifier.probabilities(input(big))).toEqual(want.slice(0, 500));
    const held = tf.memory();
    expect(held.numTensors).toBeGreaterThan(before.numTensors);
    for (let i = 0; i < 3; i++) {
      expect(await classifier.probabilities(input(small))).toEqual(want.slice(500));
      expect(await classifier.probabilities(input(big))).toEqual(want.slice(0, 500));
    }
    expect(tf.memory().numTensors).toBe(held.numTensors);
    expect(tf.memory().numBytes).toBe(held.numBytes);
    // New weights between two calls (training, setWeights) are what the next call reads.
    train(m, head(mnist, 4), 3);
    want = expected();
    expect(await classifier.probabilities(input(big))).toEqual(want.slice(0, 500));
    tf.tidy(() => m.setWeights(m.getWeights().map((w) => tf.mul(w, 0.5))));
    want = expected();
    expect(await classifier.probabilities(input(big))).toEqual(want.slice(0, 500));
    // Freed once the event loop runs its timers; laid out again at the next call.
    await waitForTimers();
    expect(tf.memory().numTensors).toBe(before.numTensors);
    expect(tf.memory().numBytes).toBe(before.numBytes);
    expect(await classifier.probabilities(input(small))).toEqual(want.slice(500));
    await waitForTimers();
    expect(tf.memory().numTensors).toBe(before.numTensors);
    // Or at once, on request.
    expect(await classifier.probabilities(input(small))).toEqual(want.slice(500));
    expect(tf.memory().numTensors).toBeGreaterThan(before.numTensors);
    classifier.release();
    expect(tf.memory().numTensors).toBe(before.numTensors);
    expect(tf.memory().numBytes).toBe(before.numBytes);
    await waitForTimers();
    expect(tf.memory().numTensors).toBe(before.numTensors);
    m.dispose();
  });
});
