import { batches } from '@lenet/datasets';
import { describe, expect, it } from 'vitest';
import { dropoutLayers, dropoutSeeds, isDropoutLayer } from './dropout.js';
import { createTrainStep, fit, TrainError } from './index.js';
import { RunningSums } from './running-sums.js';
import { mnistHead, model, useWasm } from './testing/helpers.js';
import * as tf from './tfjs.js';

const weightsOf = (m: tf.LayersModel): Float32Array[] =>
  m.getWeights().map((w) => Float32Array.from(w.dataSync()));

describe('createTrainStep', () => {
  it("takes fit's steps: the same batches give bit-identical weights and sums", async () => {
    await useWasm();
    const train = await mnistHead('train', 96);
    const options = { labelSmoothing: 0.1, clip: { clipNorm: 1 }, seed: 3 };
    const a = model('tiny-bn', 2).model;
    const r = await fit(a, train, {
      epochs: 1,
      batchSize: 32,
      shuffle: false,
      optimizer: 'adamw',
      learningRate: 2e-3,
      labelSmoothing: options.labelSmoothing,
      clipNorm: options.clip.clipNorm,
      seed: options.seed,
      recalibrateBatchNorm: false,
    });
    const b = model('tiny-bn', 2).model;
    const before = tf.memory().numTensors;
    const step = createTrainStep(b, { ...options, optimizer: { name: 'adamw', learningRate: 2e-3 } });
    let i = 0;
    for (const batch of batches(train, { batchSize: 32, layout: 'NHWC', normalize: 'unit' })) {
      step.run(batch, 2e-3, i++);
    }
    expect(step.optimizer.iterations).toBe(3);
    const sums = await step.sums.read();
    expect(sums.loss / train.count).toBe(r.history[0].loss);
    expect(sums.correct / train.count).toBe(r.history[0].accuracy);
    expect(await step.sums.firstNonFiniteStep()).toBeNull();
    step.sums.reset();
    expect(await step.sums.read()).toEqual({ loss: 0, correct: 0 });
    expect(weightsOf(b)).toEqual(weightsOf(a));
    step.dispose();
    expect(tf.memory().numTensors).toBe(before);
    a.dispose();
    b.dispose();
  });

  // sgd takes TensorFlow.js autodiff, adam the compiled step.
  it.each(['sgd', 'adam'] as const)(
    'records the first step whose model output is not finite, and keeps it over a reset (%s)',
    async (optimizer) => {
      await useWasm();
      const train = await mnistHead('train', 64);
      const { model: m } = model('tiny', 1);
      const step = createTrainStep(m, { optimizer });
      expect(step.path.kind).toBe(optimizer === 'sgd' ? 'autodiff' : 'compiled');
      const [first, second] = batches(train, { batchSize: 32, layout: 'NHWC', normalize: 'unit' });
      step.run(first, 1e-3, 0);
      expect(await step.sums.firstNonFiniteStep()).toBeNull();
      // A NaN output bias makes every later output NaN.
      const bias = m.trainableWeights[m.trainableWeights.length - 1].read() as tf.Variable;
      tf.tidy(() => bias.assign(tf.fill(bias.shape, Number.NaN)));
      step.run(second, 1e-3, 7);
      step.run(first, 1e-3, 8);
      expect(await step.sums.firstNonFiniteStep()).toBe(7);
      step.sums.reset();
      expect(await step.sums.firstNonFiniteStep()).toBe(7);
      step.dispose();
      m.dispose();
    },
  );

  it('refuses bad options with a TrainError naming the field', () => {
    const { model: m } = model('tiny', 1);
    expect(() => createTrainStep(m, { labelSmoothing: 1 })).toThrow(TrainError);
    expect(() => createTrainStep(m, { clip: { clipNorm: 0 } })).toThrow(/clipNorm must be a positive number/);
    expect(() => createTrainStep(m, { optimizer: 'adagrad' as 'adam' })).toThrow(/unknown optimizer/);
    m.dispose();
  });

  it('seeds the dropout layers per step and gives them their seeds back on dispose', () => {
    const { model: m } = model('tiny-bn', 1);
    const layers = dropoutLayers(m);
    expect(layers.length).toBeGreaterThan(0);
    const saved = layers.map((l) => l.seed);
    const step = createTrainStep(m, { seed: 9 });
    const x = new Float32Array(4 * 28 * 28);
    step.run({ x, y: Int32Array.from([0, 1, 2, 3]), shape: [4, 28, 28, 1] }, 1e-3, 5);
    expect(layers.map((l) => l.seed)).toEqual(dropoutSeeds(layers.length, 9, 5));
    step.dispose();
    expect(layers.map((l) => l.seed)).toEqual(saved);
    m.dispose();
  });
});

describe('dropout layers', () => {
  const net = () =>
    tf.sequential({
      layers: [
        tf.layers.dense({ inputShape: [4], units: 4 }),
        tf.layers.gaussianNoise({ stddev: 0.1 }),
        tf.layers.dropout({ rate: 0.3 }),
        tf.layers.gaussianDropout({ rate: 0.2 }),
        tf.layers.dense({ units: 2 }),
      ],
    });

  it('are found with one pattern: every random-mask layer for seeding, those with a rate for rates', () => {
    const m = net();
    expect(m.layers.map((l) => isDropoutLayer(l))).toEqual([false, true, true, true, false]);
    expect(dropoutLayers(m)).toHaveLength(3);
    expect(dropoutLayers(m, { withRate: true }).map((l) => l.rate)).toEqual([0.3, 0.2]);
    m.dispose();
  });

  it('get a seed per layer, step and shard', () => {
    const seeds = [dropoutSeeds(3, 1, 0), dropoutSeeds(3, 1, 1), dropoutSeeds(3, 1, 0, 1)];
    expect(new Set(seeds.flat()).size).toBe(9);
    expect(dropoutSeeds(3, 1, 0)).toEqual(seeds[0]);
  });
});

describe('running sums', () => {
  /** What `read` returns, and how many kernels it ran. */
  const readWithKernels = async (sums: RunningSums) => {
    let read: { loss: number; correct: number } | undefined;
    const profile = await tf.profile(async () => {
      read = await sums.read();
    });
    return { read, kernels: profile.kernels.length };
  };

  it('read the host sums without a TensorFlow.js op while nothing went to the device, and both once something did', async () => {
    await useWasm();
    const sums = new RunningSums(true);
    sums.addOnHost(1.5, 2, 3, 0);
    sums.addOnHost(0.25, 2, 1, 1);
    expect(await readWithKernels(sums)).toEqual({ read: { loss: 1.75, correct: 4 }, kernels: 0 });
    // A step that took autodiff (the backend switched) adds on the device: read sees both.
    tf.tidy(() => sums.addOnDevice(tf.scalar(0.5), tf.scalar(1), tf.scalar(2), 4, 2));
    const mixed = await readWithKernels(sums);
    expect(mixed.read).toEqual({ loss: 3.75, correct: 6 });
    expect(mixed.kernels).toBeGreaterThan(0);
    sums.reset();
    expect(await readWithKernels(sums)).toEqual({ read: { loss: 0, correct: 0 }, kernels: 0 });
    sums.restore(5, 2);
    expect(await readWithKernels(sums)).toEqual({ read: { loss: 5, correct: 2 }, kernels: 0 });
    sums.dispose();
    // Sums kept on the device read them.
    const device = new RunningSums(false);
    device.addOnHost(1.5, 2, 3, 0);
    expect((await readWithKernels(device)).read).toEqual({ loss: 1.5, correct: 3 });
    device.restore(5, 2);
    expect((await readWithKernels(device)).read).toEqual({ loss: 5, correct: 2 });
    device.dispose();
  });
});
