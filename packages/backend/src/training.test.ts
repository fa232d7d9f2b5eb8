import { beforeAll, describe, expect, it } from 'vitest';
import { registerWasmTrainingKernels } from './register.js';
import { randomArray, relativeError } from './testing/helpers.js';
import * as tf from './tfjs.js';

/** LeNet-5 (tanh, average pooling) as in LeCun et al. 1998, for 28×28×1 input padded 'same'. */
function lenet5(seed: number): tf.Sequential {
  const init = (k: number) => tf.initializers.glorotUniform({ seed: seed + k });
  return tf.sequential({
    layers: [
      tf.layers.conv2d({
        inputShape: [28, 28, 1],
        filters: 6,
        kernelSize: 5,
        padding: 'same',
        activation: 'tanh',
        kernelInitializer: init(1),
      }),
      tf.layers.averagePooling2d({ poolSize: 2, strides: 2 }),
      tf.layers.conv2d({ filters: 16, kernelSize: 5, activation: 'tanh', kernelInitializer: init(2) }),
      tf.layers.maxPooling2d({ poolSize: 2, strides: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 120, activation: 'tanh', kernelInitializer: init(3) }),
      tf.layers.dense({ units: 84, activation: 'tanh', kernelInitializer: init(4) }),
      tf.layers.dense({ units: 10, kernelInitializer: init(5) }),
    ],
  });
}

/** Trains `steps` SGD steps on one fixed batch and returns the loss before each step. */
function trainLosses(backendName: string, steps: number): number[] {
  expect(tf.getBackend()).toBe(backendName);
  const model = lenet5(7);
  const batch = 8;
  const x = tf.tensor4d(randomArray(batch * 28 * 28, 3), [batch, 28, 28, 1]);
  const y = tf.oneHot(tf.tensor1d([0, 1, 2, 3, 4, 5, 6, 7], 'int32'), 10);
  const optimizer = tf.train.sgd(0.1);
  const losses: number[] = [];
  for (let i = 0; i < steps; i++) {
    const loss = optimizer.minimize(
      () => tf.losses.softmaxCrossEntropy(y, model.apply(x) as tf.Tensor) as tf.Scalar,
      true,
    );
    losses.push((loss as tf.Scalar).dataSync()[0]);
    loss?.dispose();
  }
  tf.dispose([x, y]);
  model.dispose();
  optimizer.dispose();
  return losses;
}

describe('a LeNet-5 training step on wasm', () => {
  beforeAll(async () => {
    await registerWasmTrainingKernels();
  });

  it('runs, lowers the loss, and matches the cpu backend step for step', async () => {
    await tf.setBackend('cpu');
    const cpu = trainLosses('cpu', 4);
    await tf.setBackend('wasm');
    const wasm = trainLosses('wasm', 4);
    expect(wasm[3]).toBeLessThan(wasm[0]);
    expect(relativeError(wasm, cpu)).toBeLessThan(1e-3);
  });

  it('leaks no tensors and no wasm buffers over repeated gradient calls', async () => {
    await tf.setBackend('wasm');
    const x = tf.tensor4d(randomArray(2 * 9 * 9 * 3, 1), [2, 9, 9, 3]);
    const w = tf.tensor4d(randomArray(3 * 3 * 3 * 4, 2), [3, 3, 3, 4]);
    // Every kernel of this package: both conv gradients, MaxPoolGrad, the fused batch-norm gradient.
    const gradsOf = tf.grads((a: tf.Tensor, b: tf.Tensor) => {
      const y = tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same');
      const m = tf.moments(y, [0, 1, 2]);
      const n = tf.batchNorm(y, m.mean, m.variance, tf.zeros([4]), tf.ones([4]), 1e-3);
      return tf.maxPool(n as tf.Tensor4D, 2, 1, 'valid');
    });
    tf.dispose(gradsOf([x, w])); // first call may allocate caches
    const before = { ...tf.memory(), dataIds: tf.engine().backend.numDataIds() };
    for (let i = 0; i < 5; i++) tf.dispose(gradsOf([x, w]));
    expect(tf.memory().numTensors).toBe(before.numTensors);
    expect(tf.memory().numBytes).toBe(before.numBytes);
    expect(tf.engine().backend.numDataIds()).toBe(before.dataIds);
    tf.dispose([x, w]);
  });
});
