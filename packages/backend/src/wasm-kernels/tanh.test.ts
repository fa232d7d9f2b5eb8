import { getPreset } from '@lenet/models';
import { buildModel } from '@lenet/models/tf';
import { beforeAll, describe, expect, it } from 'vitest';
import { registerWasmTrainingKernels, unregisterWasmTrainingKernels } from '../register.js';
import { onBackend, randomArray, relativeError } from '../testing/helpers.js';
import * as tf from '../tfjs.js';
import { tanhApprox, tanhInto } from './tanh.js';

const TOLERANCE = 2e-6;

/** Every float32 value of a dense grid over [-20, 20], both signs of zero, and special values. */
function sweep(): Float32Array {
  const step = 1e-4;
  const n = Math.round(40 / step) + 1;
  const out = new Float32Array(n + 12);
  for (let i = 0; i < n; i++) out[i] = -20 + i * step;
  out.set([0, -0, 1e-30, -1e-30, 1e-45, 7.6, -7.7, 9, 1e4, -1e4, 3.4e38, -3.4e38], n);
  return out;
}

/** max |actual − Math.tanh(x)| over elements where the reference is a number. */
function maxError(x: ArrayLike<number>, actual: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(actual[i] - Math.tanh(x[i])));
  return worst;
}

describe('the rational tanh approximation', () => {
  it(`is within ${TOLERANCE} of Math.tanh on a dense float32 sweep of [-20, 20]`, () => {
    const x = sweep();
    const out = new Float32Array(x.length);
    tanhInto(x, out);
    expect(x.length).toBe(400_013);
    // 5.2e-7 measured: the bound documented in tanh.ts.
    expect(maxError(x, out)).toBeLessThan(6e-7);
    expect(maxError(x, x.map(tanhApprox))).toBeLessThan(6e-7);
  });

  it('keeps the sign of zero, saturates to exactly ±1 and passes NaN through', () => {
    const x = new Float32Array([0, -0, Infinity, -Infinity, 8, -8, 1e30, -1e30, Number.NaN]);
    const out = new Float32Array(x.length);
    tanhInto(x, out);
    expect(Object.is(out[0], 0)).toBe(true);
    expect(Object.is(out[1], -0)).toBe(true);
    expect(Array.from(out.subarray(2, 8))).toEqual([1, -1, 1, -1, 1, -1]);
    expect(Number.isNaN(out[8])).toBe(true);
    expect(Object.is(tanhApprox(-0), -0)).toBe(true);
    expect(tanhApprox(Infinity)).toBe(1);
    expect(Number.isNaN(tanhApprox(Number.NaN))).toBe(true);
  });

  it('is odd and increasing over [0, 8] in float32', () => {
    const x = new Float32Array(8001).map((_, i) => i / 1000);
    const out = new Float32Array(x.length);
    const neg = new Float32Array(x.length);
    tanhInto(x, out);
    tanhInto(
      x.map((v) => -v),
      neg,
    );
    for (let i = 1; i < x.length; i++) expect(out[i]).toBeGreaterThanOrEqual(out[i - 1]);
    expect(Array.from(neg)).toEqual(Array.from(out).map((v) => -v));
  });
});

describe('the wasm Tanh kernel', () => {
  beforeAll(async () => {
    expect(await registerWasmTrainingKernels()).toContain('Tanh');
  });

  it(`matches the cpu backend within ${TOLERANCE} on random inputs of LeNet's shapes`, async () => {
    for (const [shape, seed] of [
      [[4, 28, 28, 6], 1],
      [[4, 10, 10, 16], 2],
      [[4, 120], 3],
      [[3], 4],
    ] as const) {
      const size = shape.reduce((a, b) => a * b, 1);
      const values = randomArray(size, seed).map((v) => v * 6);
      const make = () => [tf.tanh(tf.tensor(values, [...shape]))];
      const [cpu] = await onBackend('cpu', make);
      const [wasm] = await onBackend('wasm', make);
      expect(wasm.length).toBe(size);
      let worst = 0;
      for (let i = 0; i < size; i++) worst = Math.max(worst, Math.abs(wasm[i] - cpu[i]));
      expect(worst).toBeLessThan(TOLERANCE);
    }
  });

  it('matches Math.tanh on the dense sweep with zeros, huge values, ±Infinity and NaN', async () => {
    const x = sweep();
    const specials = new Float32Array([0, -0, Infinity, -Infinity, Number.NaN, 50, -50]);
    const [wasm, special] = await onBackend('wasm', () => [
      tf.tanh(tf.tensor1d(x)),
      tf.tanh(tf.tensor1d(specials)),
    ]);
    expect(maxError(x, wasm)).toBeLessThan(TOLERANCE);
    expect(Object.is(special[0], 0)).toBe(true);
    expect(Object.is(special[1], -0)).toBe(true);
    expect(Array.from(special.subarray(2, 4))).toEqual([1, -1]);
    expect(Number.isNaN(special[4])).toBe(true);
    expect(Array.from(special.subarray(5))).toEqual([1, -1]);
    // The cpu backend agrees on the special values (NaN compared by position).
    const [cpu] = await onBackend('cpu', () => [tf.tanh(tf.tensor1d(specials))]);
    expect(Array.from(cpu).map((v) => (Number.isNaN(v) ? 'NaN' : v))).toEqual(
      Array.from(special).map((v) => (Number.isNaN(v) ? 'NaN' : v)),
    );
  });

  it('handles empty tensors, and sends int32 inputs to the stock kernel', async () => {
    await tf.setBackend('wasm');
    const empty = tf.tanh(tf.zeros([0, 3]));
    expect(empty.shape).toEqual([0, 3]);
    expect(empty.dataSync().length).toBe(0);
    const ints = tf.tensor1d([-3, 0, 2], 'int32');
    const out = tf.engine().runKernel('Tanh', { x: ints }) as tf.Tensor;
    expect(out.dtype).toBe('int32');
    expect(out.shape).toEqual([3]);
    tf.dispose([empty, ints, out]);
  });

  it('leaks no tensors and no wasm buffers', async () => {
    await tf.setBackend('wasm');
    const x = tf.tensor(randomArray(1000, 9), [10, 100]);
    tf.tanh(x).dispose();
    const before = { ...tf.memory(), dataIds: tf.engine().backend.numDataIds() };
    for (let i = 0; i < 5; i++) tf.tanh(x).dispose();
    expect(tf.memory().numTensors).toBe(before.numTensors);
    expect(tf.engine().backend.numDataIds()).toBe(before.dataIds);
    x.dispose();
  });
});

/** Kernel names and call counts of `fn`, run under tf.profile on the active backend. */
async function kernelCalls(fn: () => tf.Tensor | tf.Tensor[]): Promise<Map<string, number>> {
  const info = await tf.profile(() => fn());
  const calls = new Map<string, number>();
  for (const k of info.kernels) calls.set(k.name, (calls.get(k.name) ?? 0) + 1);
  return calls;
}

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

describe('a lenet5-classic training step with the Tanh kernel', () => {
  it('gives the cpu backend’s stock gradients within 1e-3 on wasm, through our Tanh', async () => {
    unregisterWasmTrainingKernels(); // the reference: stock cpu kernels and tfjs's tanh gradient
    const cpu = await onBackend('cpu', () => presetGradients('lenet5-classic', 4));
    const names = await registerWasmTrainingKernels();
    expect(names).toContain('Tanh');
    await tf.setBackend('wasm');
    const calls = await kernelCalls(() => presetGradients('lenet5-classic', 4));
    expect(calls.get('Tanh')).toBe(4);
    const wasm = await onBackend('wasm', () => presetGradients('lenet5-classic', 4));
    expect(wasm.length).toBe(cpu.length);
    expect(Math.abs(wasm[0][0] - cpu[0][0]) / cpu[0][0]).toBeLessThan(1e-5);
    wasm.slice(1).forEach((g, i) => {
      expect(g.length).toBe(cpu[i + 1].length);
      expect(relativeError(g, cpu[i + 1])).toBeLessThan(1e-3);
    });
  });
});
