import { getPreset, type PresetOptions, presetNames } from '@lenet/models';
import { buildModel } from '@lenet/models/tf';
import { beforeAll, describe, expect, it } from 'vitest';
import { registerWasmTrainingKernels } from './register.js';
import { onBackend, randomArray } from './testing/helpers.js';
import * as tf from './tfjs.js';

/** folder-lenet50 is published at 256×256; one step at 64×64 exercises the same layers. */
const SMALLER: Partial<Record<string, PresetOptions>> = {
  'folder-lenet50': { input: [64, 64, 3] },
};

/** Presets whose cpu-backend reference step is fast enough to compare against in a unit test. */
const COMPARED_WITH_CPU = ['lenet5-classic', 'torch-bn', 'torch-nobn', 'mlp2'];

/**
 * Four samples per step: with two, a batch-norm layer after a dense layer passes back a gradient
 * that is exactly zero in exact arithmetic (x̂ = ±1), so every earlier gradient is rounding noise
 * (the loss may then rise after a step, and comparing with cpu compares noise).
 */
const BATCH = 4;

/**
 * One SGD training step: [loss before, loss after, gradient of each trainable weight in
 * model order, shape of each weight as a flat tensor]. Cross-entropy of the softmax output on a
 * fixed batch, layers in training mode (seeded dropout masks, batch statistics) as in `fit`.
 */
function trainingStep(
  name: string,
  batch = BATCH,
): { tensors: tf.Tensor[]; shapes: number[][]; kernels: boolean[] } {
  const { spec } = getPreset(name, SMALLER[name] ?? {});
  const model = buildModel(spec, { seed: 11 });
  const [h, w, c] = spec.input;
  const x = tf.tensor4d(randomArray(batch * h * w * c, 5), [batch, h, w, c]);
  const labels = Array.from({ length: batch }, (_, i) => (i * 7 + 1) % spec.classes);
  const y = tf.oneHot(tf.tensor1d(labels, 'int32'), spec.classes);
  const lossOf = () => {
    const p = model.apply(x, { training: true }) as tf.Tensor;
    return tf.neg(tf.mean(tf.sum(tf.mul(y, tf.log(tf.add(p, 1e-7))), -1))) as tf.Scalar;
  };
  const { value, grads } = tf.variableGrads(lossOf);
  const weights = model.trainableWeights;
  const ordered = weights.map((v) => grads[v.name]);
  tf.train.sgd(0.01).applyGradients(grads);
  const after = lossOf();
  const shapes = weights.map((v) => v.shape.map((d) => d ?? 0));
  const kernels = weights.map((v) => v.originalName.endsWith('/kernel'));
  model.dispose();
  return { tensors: [value, after, ...ordered], shapes, kernels };
}

/** Gradient error relative to the largest gradient of the whole model (see docs/backends.md). */
function globalRelativeError(actual: Float32Array[], expected: Float32Array[]): number {
  let scale = 1e-3;
  let diff = 0;
  expected.forEach((e, i) => {
    for (let j = 0; j < e.length; j++) {
      scale = Math.max(scale, Math.abs(e[j]));
      diff = Math.max(diff, Math.abs(actual[i][j] - e[j]));
    }
  });
  return diff / scale;
}

describe('one training step of every preset on wasm', () => {
  beforeAll(async () => {
    await registerWasmTrainingKernels();
  });

  it('covers every preset the models package has', () => {
    expect(presetNames().length).toBeGreaterThanOrEqual(13);
    for (const name of COMPARED_WITH_CPU) expect(presetNames()).toContain(name);
  });

  for (const name of presetNames()) {
    it(`${name}: finite gradients for every weight, loss goes down`, async () => {
      let meta: { shapes: number[][]; kernels: boolean[] } = { shapes: [], kernels: [] };
      const data = await onBackend('wasm', () => {
        const { tensors, ...rest } = trainingStep(name);
        meta = rest;
        return tensors;
      });
      const [[before], [after], ...grads] = data;
      expect(grads.length).toBe(meta.shapes.length);
      expect(Number.isFinite(before)).toBe(true);
      expect(after).toBeLessThan(before);
      grads.forEach((g, i) => {
        expect(g.length).toBe(meta.shapes[i].reduce((a, b) => a * b, 1));
        expect(g.every(Number.isFinite)).toBe(true);
        if (meta.kernels[i]) expect(g.some((v) => v !== 0)).toBe(true);
      });
    });
  }

  for (const name of COMPARED_WITH_CPU) {
    it(`${name}: same losses and gradients as the cpu backend`, async () => {
      const cpu = await onBackend('cpu', () => trainingStep(name).tensors);
      const wasm = await onBackend('wasm', () => trainingStep(name).tensors);
      expect(Math.abs(wasm[0][0] - cpu[0][0]) / cpu[0][0]).toBeLessThan(1e-5);
      expect(Math.abs(wasm[1][0] - cpu[1][0]) / cpu[1][0]).toBeLessThan(1e-3);
      expect(globalRelativeError(wasm.slice(2), cpu.slice(2))).toBeLessThan(1e-3);
    });
  }
});
