import type { ModelSpec } from '@lenet/models';
import { getPreset } from '@lenet/models';
import { buildModel } from '@lenet/models/tf';
import { describe, expect, it } from 'vitest';
import { evaluate, fit, hasDropoutBeforeBatchNorm, recalibrateBatchNorm } from './index.js';
import { mnistHead, tinyBnSpec, tinySpec, useWasm } from './testing/helpers.js';
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
