import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  convInputGradientPruningInstalled,
  installConvInputGradientPruning,
  uninstallConvInputGradientPruning,
} from './fused-conv-grad.js';
import { registerWasmTrainingKernels, unregisterWasmTrainingKernels } from './register.js';
import { randomArray, relativeError } from './testing/helpers.js';
import * as tf from './tfjs.js';

/** Two conv layers with bias and a dense head, as tfjs-layers builds LeNet-style nets. */
function convNet(): tf.Sequential {
  const init = (k: number) => tf.initializers.glorotUniform({ seed: 40 + k });
  return tf.sequential({
    layers: [
      tf.layers.conv2d({
        inputShape: [12, 12, 1],
        filters: 4,
        kernelSize: 3,
        padding: 'same',
        activation: 'tanh',
        kernelInitializer: init(1),
        biasInitializer: 'glorotUniform',
      }),
      tf.layers.conv2d({ filters: 6, kernelSize: 3, activation: 'relu', kernelInitializer: init(2) }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 5, kernelInitializer: init(3) }),
    ],
  });
}

/** Gradients of every weight for one batch, and the kernel names the step ran. */
async function step(model: tf.Sequential): Promise<{ grads: Float32Array[]; kernels: string[] }> {
  const x = tf.tensor4d(randomArray(3 * 12 * 12, 5), [3, 12, 12, 1]);
  const y = tf.oneHot(tf.tensor1d([0, 3, 4], 'int32'), 5);
  let grads: Float32Array[] = [];
  const profile = await tf.profile(() => {
    grads = tf.tidy(() => {
      const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
      const { grads: g } = tf.variableGrads(
        () => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar,
        vars,
      );
      return vars.map((v) => g[v.name].dataSync() as Float32Array);
    });
  });
  tf.dispose([x, y]);
  return { grads, kernels: profile.kernels.map((k) => k.name) };
}

const count = (names: string[], name: string) => names.filter((n) => n === name).length;

describe('no input gradient for the data batch (fused conv2d in gradient mode)', () => {
  beforeAll(async () => {
    await registerWasmTrainingKernels();
    await tf.setBackend('wasm');
  });
  afterAll(async () => {
    await registerWasmTrainingKernels();
  });

  it('is installed with the wasm training kernels and removed with them', async () => {
    expect(convInputGradientPruningInstalled()).toBe(true);
    expect(unregisterWasmTrainingKernels()).toContain('ConvInputGradPruning');
    expect(convInputGradientPruningInstalled()).toBe(false);
    expect(await registerWasmTrainingKernels(['BatchMatMul'])).toEqual(['BatchMatMul']);
    expect(convInputGradientPruningInstalled()).toBe(false);
    expect(await registerWasmTrainingKernels()).toContain('ConvInputGradPruning');
    expect(convInputGradientPruningInstalled()).toBe(true);
  });

  it('skips the first layer input gradient and gives the same weight gradients', async () => {
    const model = convNet();
    uninstallConvInputGradientPruning();
    const stock = await step(model);
    installConvInputGradientPruning();
    const pruned = await step(model);
    // Stock: one input gradient per conv layer, the data batch's included.
    expect(count(stock.kernels, 'Conv2DBackpropInput')).toBe(2);
    expect(count(pruned.kernels, 'Conv2DBackpropInput')).toBe(1);
    expect(count(pruned.kernels, 'Conv2DBackpropFilter')).toBe(2);
    expect(pruned.grads.length).toBe(stock.grads.length);
    pruned.grads.forEach((g, i) => {
      expect(g.length).toBe(stock.grads[i].length);
      expect(relativeError(g, stock.grads[i])).toBeLessThan(1e-5);
    });
    model.dispose();
  });

  it('leaves inference on the fused kernel and with the same outputs', async () => {
    const model = convNet();
    const x = tf.tensor4d(randomArray(2 * 12 * 12, 9), [2, 12, 12, 1]);
    uninstallConvInputGradientPruning();
    const stock = tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync());
    installConvInputGradientPruning();
    const out = tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync());
    expect(relativeError(out, stock)).toBeLessThan(1e-6);
    // No gradient is recorded in predict, so tfjs's fused kernel still runs for both layers.
    const profile = await tf.profile(() => tf.tidy(() => model.predict(x) as tf.Tensor).dispose());
    const names = profile.kernels.map((k) => k.name);
    expect(count(names, 'FusedConv2D')).toBe(2);
    expect(count(names, 'Conv2D')).toBe(0);
    tf.dispose(x);
    model.dispose();
  });

  it('is idempotent and restores tfjs own function', () => {
    installConvInputGradientPruning();
    const ours = tf.fused.conv2d;
    installConvInputGradientPruning();
    expect(tf.fused.conv2d).toBe(ours);
    expect(uninstallConvInputGradientPruning()).toBe(true);
    expect(tf.fused.conv2d).not.toBe(ours);
    expect(uninstallConvInputGradientPruning()).toBe(false);
    installConvInputGradientPruning();
  });
});
