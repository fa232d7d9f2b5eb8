import { useBackend } from '@lenet/backend';
import { describe, expect, it } from 'vitest';
import { type Callback, CheckpointError, evaluate, fit, predict, TrainError } from './index.js';
import { mnistHead, model, synthetic, trainByHand, useWasm } from './testing/helpers.js';
import * as tf from './tfjs.js';

async function weightsOf(m: tf.LayersModel): Promise<Float32Array[]> {
  return Promise.all(m.getWeights().map(async (w) => Float32Array.from(await w.data())));
}

describe('fit: bad input is refused before training', () => {
  it('names the problem and leaves the weights untouched', async () => {
    await useBackend('cpu');
    const { model: m } = model('tiny');
    const before = await weightsOf(m);
    const good = synthetic(20);
    const cases: [Parameters<typeof fit>[1], Parameters<typeof fit>[2], RegExp][] = [
      [
        synthetic(20, { labels: Uint8Array.from({ length: 20 }, (_, i) => (i === 7 ? 12 : 1)) }),
        {},
        /has label 12, out of range for a model with 10 classes \(0\.\.9\)/,
      ],
      [synthetic(5, { height: 32, width: 32 }), {}, /has images of 32x32x1 but the model expects 28x28x1/],
      [synthetic(0), {}, /is empty: it has 0 samples/],
      [good, { batchSize: 0 }, /batchSize must be a positive integer, got 0/],
      [good, { batchSize: 2.5 }, /batchSize must be a positive integer, got 2.5/],
      [
        good,
        { optimizer: 'adagrad' as 'adam' },
        /unknown optimizer "adagrad"; expected one of adam, adamw, sgd, rmsprop/,
      ],
      [good, { epochs: 0 }, /epochs must be a positive integer/],
      [good, { labelSmoothing: 1 }, /labelSmoothing must be in \[0, 1\)/],
      [good, { validation: { fraction: 1.5 } }, /validation.fraction must be in \(0, 1\)/],
      [good, { validation: synthetic(4, { channels: 3 }) }, /validation data .* has images of 28x28x3/],
      [good, { schedule: { type: 'step', stepEpochs: -1 } }, /schedule.stepEpochs/],
    ];
    for (const [data, options, message] of cases) {
      await expect(fit(m, data, { epochs: 1, ...options })).rejects.toThrow(message);
      await expect(fit(m, data, { epochs: 1, ...options })).rejects.toBeInstanceOf(TrainError);
    }
    await expect(fit(m, good, { resume: '/nonexistent/ckpt' })).rejects.toBeInstanceOf(CheckpointError);
    expect(await weightsOf(m)).toEqual(before);
    m.dispose();
  });
});

describe('fit on the cpu backend', () => {
  it('is deterministic: the same seed gives identical losses and weights', async () => {
    await useBackend('cpu');
    const train = await mnistHead('train', 32);
    const runs = [];
    for (const seed of [5, 5, 6]) {
      const { model: m } = model('tiny-bn', 1);
      const r = await fit(m, train, { epochs: 2, batchSize: 16, seed, augment: true });
      runs.push({ losses: r.history.map((h) => h.loss), weights: await weightsOf(m) });
      m.dispose();
    }
    expect(runs[1].losses).toEqual(runs[0].losses);
    expect(runs[1].weights).toEqual(runs[0].weights);
    expect(runs[2].losses).not.toEqual(runs[0].losses);
  });
});

describe('fit steps on exactly the batches batches() draws', () => {
  // fit writes its batches into two pairs of buffers, the next one during the step: a step that
  // kept a batch past the draw after the next (a tensor aliasing it on the cpu backend, a shard
  // still in flight) would train on wrong data (write-ahead.test.ts makes the writing ahead certain).
  it.each([
    ['cpu (autodiff: tensors alias the batch arrays)', 'cpu'],
    ['wasm (compiled step)', 'wasm'],
  ])('on %s: the same weights and losses as a loop over fresh batches', async (_, backend) => {
    if (backend === 'cpu') await useBackend('cpu');
    else await useWasm();
    // 40 samples in batches of 16: the last batch of each epoch is a partial one (8 samples).
    const train = await mnistHead('train', 40);
    const options = { batchSize: 16, seed: 4, learningRate: 1e-3 };
    const { model: viaFit } = model('tiny-bn', 2);
    // Two epochs on wasm; one on the slow cpu backend (its partial batch still follows full ones).
    const epochs = backend === 'cpu' ? 1 : 2;
    const r = await fit(viaFit, train, { ...options, epochs, augment: true });
    const { model: byHand } = model('tiny-bn', 2);
    const losses = await trainByHand(byHand, train, options, epochs);
    expect(r.history.map((h) => h.loss)).toEqual(losses);
    expect(await weightsOf(viaFit)).toEqual(await weightsOf(byHand));
    viaFit.dispose();
    byHand.dispose();
  });
});

describe('fit on the wasm backend', () => {
  it('is deterministic too: same seed, same losses', async () => {
    await useWasm();
    const train = await mnistHead('train', 320);
    const losses: number[][] = [];
    for (let i = 0; i < 2; i++) {
      const { model: m } = model('tiny-bn', 1);
      const r = await fit(m, train, { epochs: 2, batchSize: 32, seed: 9, augment: { translate: 0.1 } });
      losses.push(r.history.map((h) => h.loss));
      m.dispose();
    }
    expect(losses[1]).toEqual(losses[0]);
  });

  it('keeps the tensor count constant across epochs and frees everything it made', async () => {
    await useWasm();
    const train = await mnistHead('train', 512);
    const { model: m } = model('tiny-bn');
    const counts: number[] = [];
    const probe: Callback = {
      onEpochEnd: () => {
        counts.push(tf.memory().numTensors);
        return undefined;
      },
    };
    const before = tf.memory().numTensors;
    const r = await fit(m, train, {
      epochs: 4,
      batchSize: 64,
      validation: { fraction: 0.25 },
      schedule: { type: 'cosine', warmupEpochs: 1 },
      clipNorm: 1,
      labelSmoothing: 0.1,
      callbacks: [probe],
    });
    expect(r.history).toHaveLength(4);
    expect(counts).toHaveLength(4);
    expect(new Set(counts).size).toBe(1);
    expect(tf.memory().numTensors).toBe(before);
    m.dispose();
  });

  it('records loss, accuracy, validation, lr and throughput per epoch', async () => {
    await useWasm();
    const train = await mnistHead('train', 1000);
    const { model: m } = model('tiny');
    const r = await fit(m, train, {
      epochs: 2,
      batchSize: 50,
      learningRate: 0.01,
      validation: { fraction: 0.2, seed: 3 },
      schedule: { type: 'step', stepEpochs: 1, gamma: 0.5 },
    });
    expect(r.history.map((h) => h.epoch)).toEqual([0, 1]);
    expect(r.steps).toBe(2 * 16);
    expect(r.history.map((h) => h.lr)).toEqual([0.01, 0.005]);
    for (const h of r.history) {
      expect(h.loss).toBeGreaterThan(0);
      expect(h.accuracy).toBeGreaterThan(0);
      expect(h.valLoss).toBeGreaterThan(0);
      expect(h.valAccuracy).toBeGreaterThan(0.3);
      expect(h.samplesPerSecond).toBeGreaterThan(10);
      expect(h.epochSeconds).toBeGreaterThan(0);
    }
    expect(r.history[1].loss).toBeLessThan(r.history[0].loss);
    expect(r.stopped).toBeNull();
    m.dispose();
  });

  it('measures validation with the training loss (smoothing included) and logs plain cross-entropy beside it', async () => {
    await useWasm();
    const train = await mnistHead('train', 600);
    const val = await mnistHead('test', 200);
    const { model: m } = model('tiny');
    const eps = 0.2;
    const r = await fit(m, train, { epochs: 1, batchSize: 50, validation: val, labelSmoothing: eps });
    const last = r.history[0];
    const { loss, probabilities } = await evaluate(m, val, { normalize: 'unit', probabilities: true });
    expect(last.valCrossEntropy).toBeCloseTo(loss, 4);
    // The smoothed loss from the same probabilities: −Σ_k ((1−ε)·onehot + ε/K)·log p_k, clipped as in training.
    let smoothed = 0;
    for (let i = 0; i < val.count; i++) {
      for (let k = 0; k < 10; k++) {
        const p = Math.min(1 - 1e-7, Math.max(1e-7, probabilities![i * 10 + k]));
        smoothed -= ((k === val.labels[i] ? 1 - eps : 0) + eps / 10) * Math.log(p);
      }
    }
    expect(last.valLoss).toBeCloseTo(smoothed / val.count, 4);
    expect(last.valLoss).not.toBeCloseTo(last.valCrossEntropy!, 2);
    m.dispose();
  });

  it('updates batch-norm moving statistics, so inference after training is sane', async () => {
    await useWasm();
    const train = await mnistHead('train', 2000);
    const test = await mnistHead('test', 1000);
    const { model: m } = model('tiny-bn');
    const bn = m.layers.find((l) => l.getClassName() === 'BatchNormalization')!;
    const movingMean = () => Array.from(bn.getWeights()[2].dataSync());
    const initial = movingMean();
    expect(initial).toEqual([0, 0, 0, 0]);
    const stopAfterOne: Callback = { onBatchEnd: () => ({ stop: true, reason: 'one step' }) };
    const one = await fit(m, train, { epochs: 1, batchSize: 32, callbacks: [stopAfterOne] });
    expect(one.steps).toBe(1);
    expect(one.stopped).toEqual({ reason: 'one step', epoch: 0 });
    expect(one.history).toHaveLength(0);
    expect(movingMean().some((v) => Math.abs(v) > 1e-3)).toBe(true);
    const r = await fit(m, train, { epochs: 1, batchSize: 32, learningRate: 0.01 });
    const ev = await evaluate(m, test);
    expect(ev.accuracy).toBeGreaterThan(0.75);
    expect(ev.accuracy).toBeGreaterThan(r.history[0].accuracy - 0.1);
    m.dispose();
  });

  it('calls hooks in order and stops on request', async () => {
    await useWasm();
    const train = await mnistHead('train', 200);
    const { model: m } = model('tiny');
    const calls: string[] = [];
    const spy: Callback = {
      onTrainBegin: (ctx) => {
        calls.push(`trainBegin ${ctx.epochs} ${ctx.stepsPerEpoch} ${ctx.trainSamples}`);
        return undefined;
      },
      onEpochBegin: (e) => {
        calls.push(`epochBegin ${e}`);
        return undefined;
      },
      onBatchEnd: (b, logs) => {
        calls.push(`batch ${b} ${logs.size}`);
        return undefined;
      },
      onEpochEnd: (e, _logs, ctx) => {
        calls.push(`epochEnd ${e}`);
        if (e === 1) ctx.stop('enough');
        return undefined;
      },
      onTrainEnd: (ctx) => {
        calls.push(`trainEnd ${ctx.stopReason}`);
      },
    };
    const r = await fit(m, train, { epochs: 5, batchSize: 128, callbacks: [spy] });
    expect(calls).toEqual([
      'trainBegin 5 2 200',
      'epochBegin 0',
      'batch 0 128',
      'batch 1 72',
      'epochEnd 0',
      'epochBegin 1',
      'batch 0 128',
      'batch 1 72',
      'epochEnd 1',
      'trainEnd enough',
    ]);
    expect(r.epochsCompleted).toBe(2);
    expect(r.stopped).toEqual({ reason: 'enough', epoch: 1 });
    m.dispose();
  });
});

describe('evaluate and predict', () => {
  it('return typed arrays consistent with each other', async () => {
    await useWasm();
    const test = await mnistHead('test', 300);
    const { model: m } = model('tiny');
    const ev = await evaluate(m, test, { batchSize: 64, probabilities: true });
    expect(ev.predictions).toBeInstanceOf(Int32Array);
    expect(ev.predictions).toHaveLength(300);
    expect(ev.probabilities).toBeInstanceOf(Float32Array);
    expect(ev.probabilities).toHaveLength(3000);
    let correct = 0;
    for (let i = 0; i < 300; i++) if (ev.predictions[i] === test.labels[i]) correct++;
    expect(ev.accuracy).toBeCloseTo(correct / 300, 10);
    expect(ev.loss).toBeGreaterThan(1.5);
    const p = await predict(m, test, { batchSize: 100 });
    expect(Array.from(p.labels)).toEqual(Array.from(ev.predictions));
    const row0 = Array.from(p.probabilities.subarray(0, 10));
    expect(row0.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    const x = new Float32Array(2 * 784);
    for (let i = 0; i < x.length; i++) x[i] = test.images[i] / 255;
    const raw = await predict(m, { x, shape: [2, 28, 28, 1] });
    expect(Array.from(raw.labels)).toEqual(Array.from(p.labels.subarray(0, 2)));
    await expect(predict(m, { x, shape: [2, 32, 32, 1] })).rejects.toThrow(
      /images are 32x32x1 but the model expects 28x28x1/,
    );
    m.dispose();
  });
});
