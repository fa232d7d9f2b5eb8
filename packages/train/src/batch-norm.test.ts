import type { ModelSpec } from '@lenet/models';
import { getPreset } from '@lenet/models';
import { buildModel } from '@lenet/models/tf';
import { describe, expect, it } from 'vitest';
import { COMPILED_RECALIBRATION_ENV, recalibrationNet } from './batch-norm.js';
import { evaluate, fit, hasDropoutBeforeBatchNorm, recalibrateBatchNorm } from './index.js';
import { eluSpec, mnistHead, tinyBnSpec, tinySpec, useWasm } from './testing/helpers.js';
import * as tf from './tfjs.js';

/** Dropout before batch norm (and max pooling), as in the torch-bn preset, but small. */
const dropoutFirst: ModelSpec = {
  name: 'dropout-first',
  input: [28, 28, 1],
  classes: 10,
  layers: [
    { type: 'conv2d', filters: 8, kernel: 5, activation: 'relu' },
    { type: 'dropout', rate: 0.75 },
    { type: 'maxPool', size: 2 },
    { type: 'conv2d', filters: 8, kernel: 3 },
    { type: 'batchNorm', momentum: 0.9 },
    { type: 'activation', activation: 'relu' },
    { type: 'maxPool', size: 2 },
    { type: 'flatten' },
    { type: 'dense', units: 10, activation: 'softmax' },
  ],
};

describe('batch-norm recalibration', () => {
  it('detects dropout before batch norm', () => {
    const cases: [ModelSpec, boolean][] = [
      [getPreset('torch-bn').spec, true],
      [dropoutFirst, true],
      [tinyBnSpec, false],
      [tinySpec, false],
    ];
    for (const [spec, expected] of cases) {
      const m = buildModel(spec, { seed: 1 });
      expect(hasDropoutBeforeBatchNorm(m), spec.name).toBe(expected);
      m.dispose();
    }
  });

  it('re-estimates moving statistics with dropout off, restoring rates and momenta', async () => {
    await useWasm();
    const train = await mnistHead('train', 1500);
    const test = await mnistHead('test', 1000);
    const m = buildModel(dropoutFirst, { seed: 2 });
    await fit(m, train, {
      epochs: 2,
      batchSize: 32,
      learningRate: 3e-3,
      seed: 1,
      recalibrateBatchNorm: false,
    });
    const stale = await evaluate(m, test);
    const bn = m.layers.find((l) => l.getClassName() === 'BatchNormalization')!;
    const drop = m.layers.find((l) => l.getClassName() === 'Dropout')!;
    const kernel = Array.from(m.getWeights()[0].dataSync());
    const meanBefore = Array.from(bn.getWeights()[2].dataSync());
    expect(recalibrateBatchNorm(m, train, { batches: 5, batchSize: 200 })).toBe(5);
    expect((bn as unknown as { momentum: number }).momentum).toBe(0.9);
    expect((drop as unknown as { rate: number }).rate).toBe(0.75);
    expect(Array.from(m.getWeights()[0].dataSync())).toEqual(kernel);
    expect(Array.from(bn.getWeights()[2].dataSync())).not.toEqual(meanBefore);
    const fixed = await evaluate(m, test);
    console.log(
      `dropout before BN: test accuracy ${stale.accuracy} with training-time statistics, ${fixed.accuracy} recalibrated`,
    );
    expect(fixed.accuracy).toBeGreaterThan(stale.accuracy + 0.05);
    expect(fixed.accuracy).toBeGreaterThan(0.75);
    m.dispose();
  });

  it("is on by default ('auto') for such models, so fit's validation and later evaluation are sane", async () => {
    await useWasm();
    const train = await mnistHead('train', 1500);
    const m = buildModel(dropoutFirst, { seed: 2 });
    const before = tf.memory().numTensors;
    const r = await fit(m, train, {
      epochs: 2,
      batchSize: 32,
      learningRate: 3e-3,
      seed: 1,
      validation: { fraction: 0.2 },
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(r.history[1].valAccuracy).toBeGreaterThan(0.8);
    m.dispose();
  });
});

describe('compiled batch-norm recalibration', () => {
  const read = (vs: readonly tf.LayerVariable[]): Float32Array[] =>
    vs.map((v) => Float32Array.from(v.read().dataSync()));

  /** max |a − b| over max |b|, per pair. */
  const relative = (a: Float32Array[], b: Float32Array[]): number[] =>
    a.map((x, k) => {
      let diff = 0;
      let scale = 0;
      x.forEach((v, i) => {
        diff = Math.max(diff, Math.abs(v - b[k][i]));
        scale = Math.max(scale, Math.abs(b[k][i]));
      });
      return diff / scale;
    });

  for (const [name, spec] of [
    ['torch-bn', getPreset('torch-bn').spec],
    ['dropout-first', dropoutFirst],
  ] as const) {
    it(`gives model.apply's moving statistics on ${name}, touching nothing else`, async () => {
      await useWasm();
      const train = await mnistHead('train', 700);
      const m = buildModel(spec, { seed: 3 });
      const norms = m.layers.filter((l) => l.getClassName() === 'BatchNormalization');
      const drops = m.layers.filter((l) => l.getClassName() === 'Dropout');
      const momenta = norms.map((l) => (l as unknown as { momentum: number }).momentum);
      const rates = drops.map((l) => (l as unknown as { rate: number }).rate);
      const initial = read(m.nonTrainableWeights);
      const trainable = read(m.trainableWeights);
      const options = { batches: 3, batchSize: 256, seed: 4 };
      const net = recalibrationNet(m);
      expect(net.reason).toBeNull();
      net.net?.dispose();
      const before = tf.memory().numTensors;
      // The tfjs path runs kernels; the compiled one none.
      const tfjs = await tf.profile(() => {
        expect(recalibrateBatchNorm(m, train, { ...options, compiled: false })).toBe(3);
      });
      expect(tfjs.kernels.length).toBeGreaterThan(0);
      const expected = read(m.nonTrainableWeights);
      m.nonTrainableWeights.forEach((v, i) => {
        const t = tf.tensor(initial[i], v.shape as number[]);
        v.write(t);
        t.dispose();
      });
      const compiled = await tf.profile(() => {
        // 700 samples: the third batch is a partial one of 188.
        expect(recalibrateBatchNorm(m, train, options)).toBe(3);
      });
      expect(compiled.kernels).toEqual([]);
      const got = read(m.nonTrainableWeights);
      const diffs = relative(got, expected);
      console.log(`${name}: compiled vs tfjs moving statistics, max relative differences ${diffs}`);
      for (const d of diffs) expect(d).toBeLessThan(1e-5);
      // The statistics moved (the check above could not pass by doing nothing).
      expect(relative(got, initial).every((d) => d > 1e-3)).toBe(true);
      expect(read(m.trainableWeights)).toEqual(trainable);
      expect(norms.map((l) => (l as unknown as { momentum: number }).momentum)).toEqual(momenta);
      expect(drops.map((l) => (l as unknown as { rate: number }).rate)).toEqual(rates);
      expect(tf.memory().numTensors).toBe(before);
      m.dispose();
    });
  }

  it('falls back to model.apply where asked or where the compiled net does not cover the model', async () => {
    await useWasm();
    const m = buildModel(tinyBnSpec, { seed: 1 });
    expect(recalibrationNet(m, false)).toEqual({ net: null, reason: 'compiled: false' });
    process.env[COMPILED_RECALIBRATION_ENV] = '0';
    try {
      expect(recalibrationNet(m).reason).toBe(`${COMPILED_RECALIBRATION_ENV}=0`);
    } finally {
      delete process.env[COMPILED_RECALIBRATION_ENV];
    }
    const elu = buildModel(eluSpec, { seed: 1 });
    expect(recalibrationNet(elu).reason).toMatch(/not covered/);
    await tf.setBackend('cpu');
    try {
      expect(recalibrationNet(m).reason).toBe('backend cpu');
    } finally {
      await tf.setBackend('wasm');
    }
    m.dispose();
    elu.dispose();
  });
});
