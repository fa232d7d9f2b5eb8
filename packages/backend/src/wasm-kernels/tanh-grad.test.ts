import { buildModel, getPreset } from '@lenet/models';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { BackendError } from '../errors.js';
import { registerWasmTrainingKernels, unregisterWasmTrainingKernels } from '../register.js';
import { onBackend, randomArray, relativeError } from '../test-util.js';
import { LENET_TANH_GRAD, WASM_FUSED_TANH_GRAD_MAX_SIZE } from './tanh-grad.js';

/** d tanh(x)/dx for a fixed upstream gradient, on the active backend. */
function tanhGrad(shape: number[], seed: number): tf.Tensor[] {
  const size = shape.reduce((a, b) => a * b, 1);
  const x = tf.tensor(
    randomArray(size, seed).map((v) => v * 4),
    shape,
  );
  const dy = tf.tensor(randomArray(size, seed + 1), shape);
  return [tf.grad((a: tf.Tensor) => tf.tanh(a))(x, dy)];
}

/** dy·(1 − tanh²(x)) in float64, from the same inputs as {@link tanhGrad}. */
function exactTanhGrad(size: number, seed: number): Float64Array {
  const x = randomArray(size, seed).map((v) => v * 4);
  const dy = randomArray(size, seed + 1);
  return Float64Array.from(x, (v, i) => {
    const y = Math.fround(Math.tanh(v));
    return dy[i] * (1 - y * y);
  });
}

/** Kernel names and call counts of `fn`, run under tf.profile on the active backend. */
async function kernelCalls(fn: () => tf.Tensor | tf.Tensor[]): Promise<Map<string, number>> {
  const info = await tf.profile(() => fn());
  const calls = new Map<string, number>();
  for (const k of info.kernels) calls.set(k.name, (calls.get(k.name) ?? 0) + 1);
  return calls;
}

// Shapes on both sides of the wasm size limit: LeNet-5's dense activations (fused) and its
// convolution activations (tfjs's own three kernels on wasm, fused on cpu).
const SHAPES: number[][] = [[64, 84], [64, 120], [4, 10, 10, 16], [4, 28, 28, 6], [7]];

describe('the fused tanh gradient', () => {
  beforeAll(async () => {
    const names = await registerWasmTrainingKernels();
    expect(names).toContain(LENET_TANH_GRAD);
  });

  SHAPES.forEach((shape, i) => {
    it(`matches the cpu backend and the exact gradient within 1e-5 for x[${shape.join(', ')}]`, async () => {
      const size = shape.reduce((a, b) => a * b, 1);
      const [cpu] = await onBackend('cpu', () => tanhGrad(shape, 10 + i));
      const [wasm] = await onBackend('wasm', () => tanhGrad(shape, 10 + i));
      expect(wasm.length).toBe(size);
      expect(relativeError(wasm, cpu)).toBeLessThan(1e-5);
      expect(relativeError(cpu, exactTanhGrad(size, 10 + i))).toBeLessThan(1e-5);
    });
  });

  it('runs as one kernel on cpu and on wasm up to the size limit, as tfjs three kernels above it', async () => {
    const small = [2, WASM_FUSED_TANH_GRAD_MAX_SIZE / 2];
    const large = [2, WASM_FUSED_TANH_GRAD_MAX_SIZE / 2 + 1];
    const grad = (shape: number[]) => () => tanhGrad(shape, 3);
    await tf.setBackend('wasm');
    const wasmSmall = await kernelCalls(grad(small));
    expect(wasmSmall.get(LENET_TANH_GRAD)).toBe(1);
    expect(wasmSmall.has('Square')).toBe(false);
    const wasmLarge = await kernelCalls(grad(large));
    expect(wasmLarge.has(LENET_TANH_GRAD)).toBe(false);
    expect(wasmLarge.get('Square')).toBe(1);
    await tf.setBackend('cpu');
    const cpuLarge = await kernelCalls(grad(large));
    expect(cpuLarge.get(LENET_TANH_GRAD)).toBe(1);
    expect(cpuLarge.has('Square')).toBe(false);
  });

  it('rejects inputs of different shapes with an error naming the kernel', async () => {
    for (const backend of ['wasm', 'cpu']) {
      await tf.setBackend(backend);
      const y = tf.zeros([2, 3]);
      const dy = tf.zeros([3, 2]);
      expect(() => tf.engine().runKernel(LENET_TANH_GRAD, { y, dy })).toThrow(BackendError);
      expect(() => tf.engine().runKernel(LENET_TANH_GRAD, { y, dy })).toThrow(
        /LenetTanhGrad: expected float32 y and dy of one shape, got y float32 \[2, 3\] and dy float32 \[3, 2\]/,
      );
      tf.dispose([y, dy]);
    }
  });

  it('leaks no tensors and no wasm buffers over repeated gradient calls', async () => {
    await tf.setBackend('wasm');
    const x = tf.tensor(randomArray(640, 4), [8, 80]);
    const g = tf.grad((a: tf.Tensor) => tf.tanh(a));
    g(x).dispose();
    const before = { ...tf.memory(), dataIds: tf.engine().backend.numDataIds() };
    for (let i = 0; i < 5; i++) g(x).dispose();
    expect(tf.memory().numTensors).toBe(before.numTensors);
    expect(tf.engine().backend.numDataIds()).toBe(before.dataIds);
    x.dispose();
  });
});

/** Loss and the gradient of every trainable weight after one forward/backward pass of a preset. */
function presetGradients(name: string, batch: number): tf.Tensor[] {
  const { spec } = getPreset(name);
  const model = buildModel(spec, { seed: 3 });
  const [h, w, c] = spec.input;
  const x = tf.tensor4d(randomArray(batch * h * w * c, 8), [batch, h, w, c]);
  const y = tf.oneHot(
    tf.tensor1d(
      Array.from({ length: batch }, (_, i) => (i * 3) % spec.classes),
      'int32',
    ),
    spec.classes,
  );
  const { value, grads } = tf.variableGrads(
    () => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar,
  );
  const ordered = model.trainableWeights.map((v) => grads[v.name]);
  model.dispose();
  return [value, ...ordered];
}

describe('a lenet5-classic training step with the tanh kernels', () => {
  it('gives the cpu backend’s stock gradients within 1e-3 on wasm, through our Tanh and fused gradient', async () => {
    unregisterWasmTrainingKernels(); // the reference: stock cpu kernels and tfjs's tanh gradient
    const cpu = await onBackend('cpu', () => presetGradients('lenet5-classic', 4));
    const names = await registerWasmTrainingKernels();
    expect(names).toEqual(expect.arrayContaining(['Tanh', LENET_TANH_GRAD]));
    await tf.setBackend('wasm');
    // Batch 4: C1's activation (4·28·28·6 elements) is over the size limit; C3 and both dense are not.
    const calls = await kernelCalls(() => presetGradients('lenet5-classic', 4));
    expect(calls.get('Tanh')).toBe(4);
    expect(calls.get(LENET_TANH_GRAD)).toBe(3);
    const wasm = await onBackend('wasm', () => presetGradients('lenet5-classic', 4));
    expect(wasm.length).toBe(cpu.length);
    expect(Math.abs(wasm[0][0] - cpu[0][0]) / cpu[0][0]).toBeLessThan(1e-5);
    wasm.slice(1).forEach((g, i) => {
      expect(g.length).toBe(cpu[i + 1].length);
      expect(relativeError(g, cpu[i + 1])).toBeLessThan(1e-3);
    });
  });
});
