import { describe, expect, it } from 'vitest';
import { SpecError } from '../errors.js';
import { getPreset, type PresetName, presetNames } from '../presets.js';
import { inferShapes } from '../shapes.js';
import type { ModelSpec } from '../spec.js';
import { summary } from '../summary.js';
import * as tf from '../tfjs.js';
import { buildModel, followingActivation } from './build.js';

/** Batch size for the predict check: 1 for the big nets, 2 for the rest. */
const predictBatch = (name: PresetName): number => (name === 'vgg-cifar10' ? 1 : 2);

function weightsOf(model: tf.LayersModel): Float32Array[] {
  return model.getWeights().map((w) => w.dataSync() as Float32Array);
}

function dispose(model: tf.LayersModel): void {
  model.dispose();
}

describe.each(presetNames().filter((n) => n !== 'folder-lenet50'))('buildModel(%s)', (name) => {
  it('countParams equals the Keras total, layers match the summary, predict gives [n, classes]', () => {
    const { spec } = getPreset(name);
    const s = summary(spec);
    const model = buildModel(spec, { seed: 1 });
    try {
      expect(model.countParams()).toBe(s.totalParams);
      expect(model.layers.map((l) => l.name)).toEqual(s.rows.map((r) => r.name));
      expect(model.layers.map((l) => (l.outputShape as number[]).slice(1))).toEqual(
        s.rows.map((r) => r.outputShape),
      );
      expect(model.layers.map((l) => l.countParams())).toEqual(s.rows.map((r) => r.params));
      const n = predictBatch(name);
      const before = tf.memory().numTensors;
      const out = tf.tidy(() => {
        const y = model.predict(tf.zeros([n, ...spec.input])) as tf.Tensor;
        return { shape: y.shape, sums: (tf.sum(y, 1).arraySync() as number[]).slice() };
      });
      expect(out.shape).toEqual([n, spec.classes]);
      for (const sum of out.sums) expect(sum).toBeCloseTo(1, 5);
      expect(tf.memory().numTensors).toBe(before);
    } finally {
      dispose(model);
    }
  });
});

describe('buildModel(folder-lenet50)', () => {
  it('countParams equals 1,760,902 at 256x256 and one sample goes through (about 2 s on the CPU backend)', () => {
    const model = buildModel(getPreset('folder-lenet50').spec, { seed: 1 });
    expect(model.countParams()).toBe(1760902);
    const shape = tf.tidy(() => (model.predict(tf.zeros([1, 256, 256, 3])) as tf.Tensor).shape);
    expect(shape).toEqual([1, 50]);
    expect(model.layers[0].getConfig().kernelInitializer).toMatchObject({
      className: 'VarianceScaling',
      config: { scale: 2, mode: 'fanIn', distribution: 'normal' },
    });
    dispose(model);
  });

  it('predicts one 64x64 sample on the adapted net', () => {
    const { spec } = getPreset('folder-lenet50', { input: [64, 64, 3], classes: 5 });
    const model = buildModel(spec, { seed: 2 });
    expect(model.countParams()).toBe(summary(spec).totalParams);
    const shape = tf.tidy(() => (model.predict(tf.zeros([1, 64, 64, 3])) as tf.Tensor).shape);
    expect(shape).toEqual([1, 5]);
    dispose(model);
  });
});

describe('seeds, names and initialisers', () => {
  it('the same seed gives the same weights; another seed different ones', () => {
    const { spec } = getPreset('torch-bn');
    const a = buildModel(spec, { seed: 42 });
    const b = buildModel(spec, { seed: 42 });
    const c = buildModel(spec, { seed: 43 });
    const wa = weightsOf(a);
    const wb = weightsOf(b);
    const wc = weightsOf(c);
    expect(wa.length).toBe(wb.length);
    for (const [i, w] of wa.entries()) expect(Array.from(wb[i])).toEqual(Array.from(w));
    // The first conv kernel (index 0) must differ between seeds.
    expect(Array.from(wc[0])).not.toEqual(Array.from(wa[0]));
    // Different layers of the same shape get different draws within one seed.
    const d = buildModel(getPreset('keras-deep').spec, { seed: 42 });
    const [k3, k4] = [d.getLayer('conv2d_3'), d.getLayer('conv2d_4')].map((l) =>
      l.getWeights()[0].dataSync(),
    );
    expect(Array.from(k3)).not.toEqual(Array.from(k4));
    for (const m of [a, b, c, d]) dispose(m);
  });

  it('layer names do not depend on how many models the process built', () => {
    const spec = getPreset('lenet5').spec;
    const first = buildModel(spec);
    const second = buildModel(spec);
    expect(second.layers.map((l) => l.name)).toEqual([
      'conv2d_1',
      'max_pooling2d_1',
      'conv2d_2',
      'max_pooling2d_2',
      'flatten_1',
      'dense_1',
      'dense_2',
      'dense_3',
    ]);
    expect(second.name).toBe('lenet5');
    dispose(first);
    dispose(second);
  });

  it('He normal before relu (also through BatchNorm and dropout), Glorot uniform otherwise', () => {
    const he = { className: 'VarianceScaling', config: { scale: 2, mode: 'fanIn', distribution: 'normal' } };
    const glorot = {
      className: 'VarianceScaling',
      config: { scale: 1, mode: 'fanAvg', distribution: 'uniform' },
    };
    const torch = getPreset('torch-bn').spec;
    expect(followingActivation(torch, 0)).toBe('relu');
    const tm = buildModel(torch, { seed: 3 });
    expect(tm.getLayer('conv2d_1').getConfig().kernelInitializer).toMatchObject(he);
    expect(tm.getLayer('dense_1').getConfig().kernelInitializer).toMatchObject(he);
    expect(tm.getLayer('dense_3').getConfig().kernelInitializer).toMatchObject(glorot);
    const classic = buildModel(getPreset('lenet5-classic').spec, { seed: 3 });
    expect(classic.getLayer('conv2d_1').getConfig().kernelInitializer).toMatchObject(glorot);
    const custom = buildModel(torch, {
      seed: 3,
      reluInitializer: 'heUniform',
      otherInitializer: 'glorotNormal',
    });
    expect(custom.getLayer('conv2d_1').getConfig().kernelInitializer).toMatchObject({
      config: { scale: 2, mode: 'fanIn', distribution: 'uniform' },
    });
    expect(custom.getLayer('dense_3').getConfig().kernelInitializer).toMatchObject({
      config: { scale: 1, mode: 'fanAvg', distribution: 'normal' },
    });
    for (const m of [tm, classic, custom]) dispose(m);
  });

  it('BatchNorm and dropout take the spec values', () => {
    const m = buildModel(getPreset('torch-bn').spec, { seed: 1 });
    expect(m.getLayer('batch_normalization_1').getConfig()).toMatchObject({ momentum: 0.9, epsilon: 1e-5 });
    expect(m.getLayer('dropout_1').getConfig()).toMatchObject({ rate: 0.75 });
    dispose(m);
  });
});

describe('numeric padding and bad specs', () => {
  it('a pad that is not same becomes ZeroPadding2D + valid conv with the same output as inferred', () => {
    const spec: ModelSpec = {
      name: 'padded',
      input: [9, 9, 2],
      classes: 3,
      layers: [
        { type: 'conv2d', filters: 4, kernel: 3, stride: 2, padding: 1, activation: 'relu' },
        { type: 'conv2d', filters: 4, kernel: 3, padding: 1 },
        { type: 'flatten' },
        { type: 'dense', units: 3, activation: 'softmax' },
      ],
    };
    const m = buildModel(spec, { seed: 5 });
    expect(m.layers.map((l) => l.name)).toEqual([
      'conv2d_1_pad',
      'conv2d_1',
      'conv2d_2',
      'flatten_1',
      'dense_1',
    ]);
    expect(m.getLayer('conv2d_2').getConfig()).toMatchObject({ padding: 'same' });
    expect((m.getLayer('conv2d_1').outputShape as number[]).slice(1)).toEqual(
      inferShapes(spec).layers[0].outputShape,
    );
    expect(m.countParams()).toBe(inferShapes(spec).totalParams);
    dispose(m);
  });

  it('keras-deep on 8x8 fails at shape inference, naming the layer, before any tensor is made', () => {
    const spec = { ...getPreset('keras-deep').spec, input: [8, 8, 1] as [number, number, number] };
    const before = tf.memory().numTensors;
    expect(() => buildModel(spec)).toThrow(SpecError);
    expect(() => buildModel(spec)).toThrow(
      /^spec "keras-deep": layers\[7\] \(maxPool\): output height 0 <= 0/,
    );
    expect(tf.memory().numTensors).toBe(before);
  });

  it('rejects a malformed spec with the layer named', () => {
    const spec = getPreset('lenet5').spec;
    const broken = { ...spec, layers: [{ type: 'conv3d' }, ...spec.layers] } as unknown as ModelSpec;
    expect(() => buildModel(broken)).toThrow(/layers\[0\] \(conv3d\): field "type": unknown layer type/);
  });
});
