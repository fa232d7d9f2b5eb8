import { compileTrainingNet, setRelaxedSimdEnabled, useBackend } from '@lenet/backend';
import { type Batch, batches, type Dataset } from '@lenet/datasets';
import type { LayerSpec, ModelSpec } from '@lenet/models';
import { buildModel } from '@lenet/models/tf';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { COMPILED_STEP_ENV, modelNetSpec } from './compiled-step.js';
import { dropoutLayers, setDropoutSeeds } from './dropout.js';
import { createTrainStep, earlyDropout, fit, type TrainStepOptions } from './index.js';
import { crossEntropyHost } from './loss.js';
import { modelInfo } from './model-info.js';
import { RunningSums } from './running-sums.js';
import { batchGradients, modelVariables, type StepRunner } from './step.js';
import { eluSpec, mnistHead, model, synthetic } from './testing/helpers.js';
import * as tf from './tfjs.js';

/** The LeNet family: every preset the compiled step must match autodiff on. */
const FAMILY = ['lenet5', 'lenet5-classic', 'torch-bn', 'torch-nobn', 'torch-2conv3fc', 'torch-2conv2fc'];

let train: Dataset;
beforeAll(async () => {
  await useBackend('wasm');
  train = await mnistHead('train', 320);
});

afterEach(() => {
  delete process.env[COMPILED_STEP_ENV];
});

function batchList(ds: Dataset, batchSize: number): Batch[] {
  return [...batches(ds, { batchSize, layout: 'NHWC', normalize: 'unit' })];
}

/** max |a − b| over max |b| of each pair of arrays (0 where both are all zeros). */
function relativeDiffs(a: readonly ArrayLike<number>[], b: readonly ArrayLike<number>[]): number[] {
  return a.map((x, k) => {
    let diff = 0;
    let scale = 0;
    for (let i = 0; i < x.length; i++) {
      diff = Math.max(diff, Math.abs(x[i] - b[k][i]));
      scale = Math.max(scale, Math.abs(b[k][i]));
    }
    return diff === 0 ? 0 : diff / scale;
  });
}

const weightsOf = (m: tf.LayersModel): Float32Array[] =>
  m.weights.map((w) => Float32Array.from(w.read().dataSync()));

/**
 * The gradients of one batch both ways, from the same weights and dropout seeds: tfjs's tape
 * (`batchGradients`, what the autodiff step runs) and the compiled net the compiled step runs.
 */
function bothGradients(
  m: tf.LayersModel,
  batch: Batch,
  seeds: number[],
  labelSmoothing: number,
): { autodiff: Float32Array[]; compiled: Float32Array[]; lossAutodiff: number; lossCompiled: number } {
  const info = modelInfo(m);
  const ce = { classes: info.classes, fromLogits: info.fromLogits, labelSmoothing };
  const vars = modelVariables(m);
  const stats = vars.nonTrainable.map((v) => tf.clone(v));
  setDropoutSeeds(dropoutLayers(m), seeds);
  const auto = tf.tidy(() => {
    const g = batchGradients(m, vars.trainable, batch, ce);
    const out = { grads: g.grads.map((t) => Float32Array.from(t.dataSync())), loss: g.value.dataSync()[0] };
    tf.dispose([g.correct, g.outputSum]);
    return out;
  });
  // The batch-norm statistics as they were, for the compiled forward pass to update again.
  vars.nonTrainable.forEach((v, i) => {
    v.assign(stats[i]);
  });
  tf.dispose(stats);
  const translated = modelNetSpec(m);
  if ('reason' in translated) throw new Error(translated.reason);
  const net = compileTrainingNet(translated.spec);
  if (net === undefined) throw new Error('no compiled net on this backend');
  try {
    net.forward(batch.x, batch.y.length, seeds);
    const loss = crossEntropyHost(net.output(), net.softmax(), batch.y, ce, net.outputGradient());
    net.backward();
    return {
      autodiff: auto.grads,
      compiled: net.gradients().map((g) => Float32Array.from(g)),
      lossAutodiff: auto.loss,
      lossCompiled: loss.lossSum / batch.y.length,
    };
  } finally {
    net.dispose();
  }
}

/**
 * Trains two copies of a model (`make`, the same weights each time) on `list`, compiled and with
 * autodiff, checking before each step that the compiled gradients are the tape's within 1e-5, and
 * after the last that the weights agree within 1e-4 — on the kernels' plain build, and the
 * gradients alone on their relaxed-SIMD build, within 5e-5. Its fused multiply-adds round once where
 * a product on the tape's path that is not the compiled net's kernel (tfjs's own, or another of
 * ours) rounds twice: gradients within ~3e-6 of the tape's, up to 1.9e-5 for a conv bias whose
 * gradient sums 10,816 terms that mostly cancel (keras-bn's first). And Adam's first steps, which
 * move every weight by about the learning rate whatever its gradient's size, turn that into
 * lr-sized differences where a gradient is near zero (measured: up to 1.6e-3 after 3 steps at lr
 * 1e-3), so the weights are compared on the plain build, where both paths agree.
 */
function sameStepsBothWays(make: () => tf.LayersModel, list: Batch[]): void {
  for (const relaxed of [true, false]) {
    const previous = setRelaxedSimdEnabled(relaxed);
    try {
      sameSteps(make, list, relaxed);
    } finally {
      setRelaxedSimdEnabled(previous);
    }
  }
}

function sameSteps(make: () => tf.LayersModel, list: Batch[], relaxed: boolean): void {
  const [a, b] = [make(), make()];
  const compiled = createTrainStep(a, { seed: 1, labelSmoothing: 0.1 });
  const autodiff = createTrainStep(b, { seed: 1, labelSmoothing: 0.1, compiled: false });
  expect([compiled.path, autodiff.path.kind]).toEqual([{ kind: 'compiled', reason: null }, 'autodiff']);
  const stats = modelVariables(a).nonTrainable;
  list.forEach((batch, step) => {
    // The gradient check moves the batch-norm statistics once more: put them back for the step.
    const before = stats.map((v) => tf.clone(v));
    const g = bothGradients(a, batch, (compiled as StepRunner).dropoutSeeds(step), 0.1);
    stats.forEach((v, i) => {
      v.assign(before[i]);
    });
    tf.dispose(before);
    for (const [k, d] of relativeDiffs(g.compiled, g.autodiff).entries()) {
      expect(
        d,
        `step ${step} ${a.trainableWeights[k].name}${relaxed ? ', relaxed SIMD' : ''}`,
      ).toBeLessThanOrEqual(relaxed ? 5e-5 : 1e-5);
    }
    compiled.run(batch, 1e-3, step);
    autodiff.run(batch, 1e-3, step);
  });
  if (!relaxed) {
    for (const [k, d] of relativeDiffs(weightsOf(a), weightsOf(b)).entries()) {
      expect(d, a.weights[k].name).toBeLessThanOrEqual(1e-4);
    }
  }
  for (const x of [compiled, autodiff, a, b]) x.dispose();
}

describe('the compiled step against TensorFlow.js autodiff (wasm)', () => {
  it.each(FAMILY)('%s: per-step losses and gradients within 1e-5, the same dropout masks', (name) => {
    const m = model(name, 3).model;
    const runner = createTrainStep(m, { optimizer: 'adam', seed: 4, labelSmoothing: 0.1 });
    expect(runner.path).toEqual({ kind: 'compiled', reason: null });
    const list = batchList(train, 16).slice(0, 3);
    list.forEach((batch, step) => {
      // Dropout masks come from the seeds: a different mask would move every gradient.
      const seeds = (runner as StepRunner).dropoutSeeds(step);
      const g = bothGradients(m, batch, seeds, 0.1);
      expect(g.compiled).toHaveLength(m.trainableWeights.length);
      for (const [k, d] of relativeDiffs(g.compiled, g.autodiff).entries()) {
        expect(d, `${name} step ${step} ${m.trainableWeights[k].name}`).toBeLessThanOrEqual(1e-5);
      }
      expect(Math.abs(g.lossCompiled - g.lossAutodiff) / g.lossAutodiff).toBeLessThan(1e-5);
      runner.run(batch, 1e-3, step);
    });
    runner.dispose();
    m.dispose();
  });

  it.each([
    ['lenet5', { optimizer: 'adam', labelSmoothing: 0.1 }],
    [
      'torch-bn',
      { optimizer: { name: 'adamw', weightDecay: 0.05 }, clip: { clipNorm: 0.5, clipValue: 0.01 } },
    ],
  ] as [string, TrainStepOptions][])(
    '%s: the same weights, batch-norm statistics and optimizer state after 100 steps (%j)',
    async (name, options) => {
      const [a, b] = [model(name, 2).model, model(name, 2).model];
      const compiled = createTrainStep(a, { ...options, seed: 1 });
      const autodiff = createTrainStep(b, { ...options, seed: 1, compiled: false });
      expect([compiled.path.kind, autodiff.path.kind]).toEqual(['compiled', 'autodiff']);
      const list = batchList(train, 16);
      const losses: [number, number][] = [];
      for (let step = 0; step < 100; step++) {
        const batch = list[step % list.length];
        compiled.run(batch, 2e-3, step);
        autodiff.run(batch, 2e-3, step);
        const [c, d] = [await compiled.sums.read(), await autodiff.sums.read()];
        losses.push([c.loss, d.loss]);
        compiled.sums.reset();
        autodiff.sums.reset();
      }
      for (const [step, [c, d]] of losses.entries()) {
        expect(Math.abs(c - d) / d, `loss of step ${step}`).toBeLessThan(1e-5);
      }
      for (const [k, d] of relativeDiffs(weightsOf(a), weightsOf(b)).entries()) {
        expect(d, a.weights[k].name).toBeLessThanOrEqual(1e-4);
      }
      const slots = (s: typeof compiled) => s.optimizer.slots.map((x) => x.tensor.dataSync());
      for (const d of relativeDiffs(slots(compiled), slots(autodiff))) expect(d).toBeLessThanOrEqual(1e-4);
      expect(compiled.optimizer.iterations).toBe(100);
      compiled.dispose();
      autodiff.dispose();
      a.dispose();
      b.dispose();
    },
  );

  it("folder-lenet50 (report 001's 256×256×3 net: global average pooling): gradients within 1e-5 per step, weights within 1e-4 after 3 steps at batch 2", () => {
    const count = 6;
    const labels = Uint8Array.from({ length: count }, (_, i) => (i * 7) % 50);
    const images = synthetic(count, { height: 256, width: 256, channels: 3, labels });
    sameStepsBothWays(() => model('folder-lenet50', 2).model, batchList(images, 2));
  });

  // Convolutions of 32–128 channels: the wide SIMD kernels (conv-wide.ts in @lenet/backend).
  it.each(['keras-baseline', 'keras-bn', 'keras-shallow', 'keras-deep'])(
    '%s: gradients within 1e-5 per step, weights within 1e-4 after 3 steps at batch 16',
    (name) => {
      sameStepsBothWays(() => model(name, 2).model, batchList(train, 16).slice(0, 3));
    },
  );

  it('torch-bn without its dropout layers (batch norm, relu and max pooling fused): gradients within 1e-5 per step, weights within 1e-4 after 3 steps at batch 16', () => {
    const { spec } = model('torch-bn');
    const nodropout: ModelSpec = { ...spec, layers: spec.layers.filter((l) => l.type !== 'dropout') };
    sameStepsBothWays(() => buildModel(nodropout, { seed: 2 }), batchList(train, 16).slice(0, 3));
  });

  it('vgg-cifar10 with narrow dense layers: gradients within 1e-5 per step, weights within 1e-4 after 2 steps at batch 4', () => {
    // Its six convolutions as they are; its dense layers (2,500 and 1,000 units: 7.4 M weights,
    // seconds per autodiff step) narrowed to 25 and 10.
    const { spec } = model('vgg-cifar10');
    const narrow = (l: LayerSpec): LayerSpec =>
      l.type === 'dense' && l.units > 100 ? { ...l, units: l.units / 100 } : l;
    const vgg: ModelSpec = { ...spec, layers: spec.layers.map(narrow) };
    const labels = Uint8Array.from({ length: 8 }, (_, i) => (i * 3) % 10);
    const images = synthetic(8, { height: 32, width: 32, channels: 3, labels });
    sameStepsBothWays(() => buildModel(vgg, { seed: 2 }), batchList(images, 4));
  });

  it('follows dropout rates and batch-norm momenta changed between steps (earlyDropout)', async () => {
    const data = await mnistHead('train', 96);
    const weights = [];
    for (const compiled of [true, false]) {
      const m = model('torch-bn', 6).model;
      const r = await fit(m, data, {
        epochs: 2,
        batchSize: 32,
        seed: 1,
        compiled,
        callbacks: [earlyDropout({ epochs: 1 })],
        recalibrateBatchNorm: false,
      });
      expect(r.steps).toBe(6);
      weights.push(weightsOf(m));
      m.dispose();
    }
    for (const [k, d] of relativeDiffs(weights[0], weights[1]).entries()) {
      expect(d, `weight ${k}`).toBeLessThanOrEqual(1e-4);
    }
    // A momentum set on the layer between steps is the one the next step uses.
    const [a, b] = [model('torch-bn', 2).model, model('torch-bn', 2).model];
    const [sa, sb] = [createTrainStep(a, { seed: 1 }), createTrainStep(b, { seed: 1, compiled: false })];
    const [batch] = batchList(train, 16);
    for (const m of [a, b]) {
      for (const l of m.layers.filter((x) => x.getClassName() === 'BatchNormalization')) {
        (l as unknown as { momentum: number }).momentum = 0.5;
      }
    }
    sa.run(batch, 1e-3, 0);
    sb.run(batch, 1e-3, 0);
    expect(relativeDiffs(weightsOf(a), weightsOf(b)).every((d) => d <= 1e-5)).toBe(true);
    for (const x of [sa, sb, a, b]) x.dispose();
  });

  it('gives fit the same accuracy after a small budget', async () => {
    const data = await mnistHead('train', 1024);
    const test = await mnistHead('test', 500);
    const runs = [];
    for (const compiled of [true, false]) {
      const m = model('lenet5', 7).model;
      const r = await fit(m, data, { epochs: 1, batchSize: 32, seed: 2, compiled, learningRate: 2e-3 });
      const probs = tf.tidy(
        () =>
          m.predict(
            tf.tensor4d(
              Float32Array.from(test.images, (p) => p / 255),
              [test.count, 28, 28, 1],
            ),
          ) as tf.Tensor,
      );
      const predicted = (tf.argMax(probs, 1).dataSync() as Int32Array).map((c, i) =>
        c === test.labels[i] ? 1 : 0,
      );
      runs.push({ loss: r.history[0].loss, accuracy: predicted.reduce((s, x) => s + x, 0) / test.count });
      probs.dispose();
      m.dispose();
    }
    expect(runs[0].accuracy).toBeGreaterThan(0.7);
    expect(Math.abs(runs[0].accuracy - runs[1].accuracy)).toBeLessThanOrEqual(0.01);
    expect(Math.abs(runs[0].loss - runs[1].loss) / runs[1].loss).toBeLessThan(1e-5);
  });
});

describe('choosing the compiled step', () => {
  const samePool: ModelSpec = {
    name: 'same-pool',
    input: [28, 28, 1],
    classes: 10,
    layers: [
      { type: 'maxPool', size: 3, padding: 'same' },
      { type: 'flatten' },
      { type: 'dense', units: 10, activation: 'softmax' },
    ],
  };

  it('takes autodiff when asked to, or for what it does not cover, and says why', async () => {
    await useBackend('wasm');
    const cases: [tf.LayersModel, TrainStepOptions, string][] = [
      [model('lenet5').model, { compiled: false }, 'compiled: false'],
      [model('lenet5').model, { optimizer: 'sgd' }, 'optimizer sgd'],
      [model('lenet5').model, { optimizer: 'rmsprop' }, 'optimizer rmsprop'],
      [buildModel(eluSpec, { seed: 1 }), {}, 'layer dense_1 (Dense): activation elu is not covered'],
      [
        buildModel(samePool, { seed: 1 }),
        {},
        'layer max_pooling2d_1 (MaxPooling2D): padding "same" is not covered',
      ],
    ];
    for (const [m, options, reason] of cases) {
      const step = createTrainStep(m, options);
      expect(step.path).toEqual({ kind: 'autodiff', reason });
      step.dispose();
      m.dispose();
    }
    process.env[COMPILED_STEP_ENV] = '0';
    const m = model('lenet5').model;
    const step = createTrainStep(m);
    expect(step.path).toEqual({ kind: 'autodiff', reason: `${COMPILED_STEP_ENV}=0` });
    step.dispose();
    m.dispose();
  });

  it('takes autodiff on the cpu backend, and fit trains either way', async () => {
    await useBackend('cpu');
    const m = model('tiny').model;
    const step = createTrainStep(m);
    expect(step.path).toEqual({ kind: 'autodiff', reason: 'backend cpu' });
    step.dispose();
    await useBackend('wasm');
    const r = await fit(m, await mnistHead('train', 64), { epochs: 1, batchSize: 32, compiled: false });
    expect(r.steps).toBe(2);
    m.dispose();
  });

  it('refuses a compiled option that is not a boolean', () => {
    const m = model('tiny').model;
    expect(() => createTrainStep(m, { compiled: 'yes' as unknown as boolean })).toThrow(
      /compiled must be true or false, got "yes"/,
    );
    m.dispose();
  });
});

describe('the compiled step over many steps', () => {
  it('keeps the number of tensors and their bytes constant (the heap itself: see training-net.test.ts in @lenet/backend)', async () => {
    await useBackend('wasm');
    const m = model('torch-bn', 1).model;
    const step = createTrainStep(m, { seed: 2 });
    expect(step.path.kind).toBe('compiled');
    const list = batchList(train, 32);
    // A smaller last batch makes the net lay its buffers out again: that must not leak either.
    const last = batchList(await mnistHead('train', 40), 32)[1];
    const run = (i: number) => step.run(i % 10 === 9 ? last : list[i % list.length], 1e-3, i);
    for (let i = 0; i < 10; i++) run(i);
    const before = { tensors: tf.memory().numTensors, bytes: tf.memory().numBytes };
    for (let i = 10; i < 60; i++) run(i);
    expect(tf.memory().numTensors).toBe(before.tensors);
    expect(tf.memory().numBytes).toBe(before.bytes);
    step.dispose();
    m.dispose();
  });

  it('resumes from a checkpoint to the weights of an uninterrupted run', async () => {
    await useBackend('wasm');
    const { mkdtemp, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { modelCheckpoint } = await import('./index.js');
    const dir = await mkdtemp(join(tmpdir(), 'lenet-compiled-'));
    try {
      const data = await mnistHead('train', 192);
      const options = { batchSize: 32, seed: 3, spec: model('torch-bn').spec };
      const straight = model('torch-bn', 5).model;
      const full = await fit(straight, data, { ...options, epochs: 2 });
      const first = model('torch-bn', 5).model;
      await fit(first, data, { ...options, epochs: 1, callbacks: [modelCheckpoint({ dir, save: 'last' })] });
      const resumed = model('torch-bn', 9).model;
      const rest = await fit(resumed, data, { ...options, epochs: 2, resume: join(dir, 'last') });
      expect(rest.history.map((h) => h.loss)).toEqual(full.history.map((h) => h.loss));
      expect(weightsOf(resumed)).toEqual(weightsOf(straight));
      for (const m of [straight, first, resumed]) m.dispose();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('RunningSums on the host', () => {
  it('sums host steps in float64 and restores where it sums', async () => {
    await useBackend('wasm');
    const sums = new RunningSums(true);
    sums.addOnHost(1.25, 3, 2, 0);
    sums.addOnHost(0.1, 3, 1, 1);
    expect(await sums.read()).toEqual({ loss: 1.35, correct: 3 });
    sums.restore(0.1, 4);
    sums.addOnHost(0.2, 0, 1, 2);
    expect(await sums.read()).toEqual({ loss: 0.1 + 0.2, correct: 5 });
    sums.addOnHost(Number.POSITIVE_INFINITY, 0, 0, 3);
    sums.reset();
    expect(await sums.firstNonFiniteStep()).toBe(3);
    sums.dispose();
  });
});
