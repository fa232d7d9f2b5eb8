import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerWasmTrainingKernels } from './register.js';
import { onBackend, pick, randomArray, relativeError } from './testing/helpers.js';
import * as tf from './tfjs.js';
import { setPoolFastEnabled } from './wasm-kernels/pool-util.js';
import { setSimdKernelsEnabled, simdKernelsSupported } from './wasm-kernels/simd.js';

const TOLERANCE = 1e-3;

interface ConvCase {
  batch: number;
  height: number;
  width: number;
  inChannels: number;
  outChannels: number;
  kernel: number;
  stride: 1 | 2;
  pad: 'same' | 'valid' | number;
}

/** 2 strides × 3 paddings × 2 kernels × 3 draws of batch/size/channels = 36 cases. */
function convCases(): ConvCase[] {
  const cases: ConvCase[] = [];
  let seed = 1;
  for (const stride of [1, 2] as const) {
    for (const pad of ['same', 'valid', 1] as const) {
      for (const kernel of [3, 5]) {
        for (let draw = 0; draw < 3; draw++) {
          seed++;
          cases.push({
            batch: pick([1, 4], seed),
            height: pick([7, 8, 11, 12, 16], seed * 3),
            width: pick([7, 9, 10, 13], seed * 5),
            // 24 output channels: the SIMD filter gradient's second block of 16 channels;
            // 16 input channels × k3: the SIMD input gradient's 8-vector runs.
            inChannels: pick([1, 3, 6, 16], seed * 7 + draw),
            outChannels: pick([1, 3, 6, 16, 24], seed * 11 + draw),
            kernel,
            stride,
            pad,
          });
        }
      }
    }
  }
  // 32 output channels: the input gradient past the direct kernel's threshold (XNNPACK's path).
  cases.push(
    { batch: 2, height: 9, width: 8, inChannels: 6, outChannels: 32, kernel: 3, stride: 1, pad: 'valid' },
    { batch: 2, height: 9, width: 8, inChannels: 12, outChannels: 24, kernel: 3, stride: 2, pad: 'same' },
  );
  return cases;
}

function describeCase(c: ConvCase): string {
  return `x[${c.batch},${c.height},${c.width},${c.inChannels}] k${c.kernel} → ${c.outChannels}, stride ${c.stride}, pad ${c.pad}`;
}

/** A case's input and filter, random from `seed` and `seed + 1`. */
function convOperands(c: ConvCase, seed: number): { x: tf.Tensor4D; w: tf.Tensor4D } {
  const x = tf.tensor4d(randomArray(c.batch * c.height * c.width * c.inChannels, seed), [
    c.batch,
    c.height,
    c.width,
    c.inChannels,
  ]);
  const w = tf.tensor4d(randomArray(c.kernel * c.kernel * c.inChannels * c.outChannels, seed + 1), [
    c.kernel,
    c.kernel,
    c.inChannels,
    c.outChannels,
  ]);
  return { x, w };
}

/** dx and dW of conv2d for a fixed upstream gradient, and the forward result y, on the active backend. */
function convGrads(c: ConvCase, seed: number): tf.Tensor[] {
  const { x, w } = convOperands(c, seed);
  const conv = (a: tf.Tensor4D, b: tf.Tensor4D) => tf.conv2d(a, b, c.stride, c.pad);
  const y = conv(x, w);
  const dy = tf.tensor(randomArray(y.size, seed + 2), y.shape);
  return [
    ...tf.grads((a: tf.Tensor, b: tf.Tensor) => conv(a as tf.Tensor4D, b as tf.Tensor4D))([x, w], dy),
    y,
  ];
}

/** Runs a group of tests with the SIMD kernels on, then again with them off (the JS/composite paths). */
function withAndWithoutSimd(title: string, body: () => void): void {
  for (const simd of [true, false]) {
    describe(`${title} (SIMD kernels ${simd ? 'on' : 'off'})`, () => {
      beforeAll(async () => {
        await registerWasmTrainingKernels();
        setSimdKernelsEnabled(simd);
        expect(simdKernelsSupported()).toBe(simd);
      });
      afterAll(() => setSimdKernelsEnabled(true));
      body();
    });
  }
}

withAndWithoutSimd('wasm conv2d and its gradient kernels match the cpu backend', () => {
  convCases().forEach((c, i) => {
    it(describeCase(c), async () => {
      const seed = 1000 + 17 * i;
      const [dxCpu, dwCpu, yCpu] = await onBackend('cpu', () => convGrads(c, seed));
      const [dxWasm, dwWasm, yWasm] = await onBackend('wasm', () => convGrads(c, seed));
      expect(relativeError(yWasm, yCpu)).toBeLessThan(TOLERANCE);
      expect(dxWasm.length).toBe(c.batch * c.height * c.width * c.inChannels);
      expect(dwWasm.length).toBe(c.kernel * c.kernel * c.inChannels * c.outChannels);
      expect(relativeError(dxWasm, dxCpu)).toBeLessThan(TOLERANCE);
      expect(relativeError(dwWasm, dwCpu)).toBeLessThan(TOLERANCE);
    });
  });
});

/** The fused convolution tfjs-layers runs in inference (bias, relu or linear), and its parts run apart. */
function fusedConv(c: ConvCase, seed: number, activation: 'relu' | 'linear', withBias: boolean): tf.Tensor[] {
  const { x, w } = convOperands(c, seed);
  const bias = withBias ? tf.tensor1d(randomArray(c.outChannels, seed + 2)) : undefined;
  const fused = tf.fused.conv2d({ x, filter: w, strides: c.stride, pad: c.pad, bias, activation });
  const sum = bias ? tf.add(tf.conv2d(x, w, c.stride, c.pad), bias) : tf.conv2d(x, w, c.stride, c.pad);
  return [fused, activation === 'relu' ? tf.relu(sum) : sum];
}

withAndWithoutSimd('wasm FusedConv2D matches the cpu backend', () => {
  convCases()
    .filter((_, i) => i % 3 === 0)
    .forEach((c, i) => {
      const activation = i % 2 === 0 ? 'relu' : 'linear';
      const withBias = i % 4 !== 3;
      it(`${describeCase(c)}, ${activation}${withBias ? ' + bias' : ''}`, async () => {
        const seed = 3000 + 13 * i;
        const [cpu] = await onBackend('cpu', () => fusedConv(c, seed, activation, withBias));
        const [fused, apart] = await onBackend('wasm', () => fusedConv(c, seed, activation, withBias));
        expect(relativeError(fused, cpu)).toBeLessThan(TOLERANCE);
        // The direct kernel: what Conv2D, Add and Relu compute in training, bit for bit.
        if (simdKernelsSupported() && c.outChannels <= 16) expect(fused).toEqual(apart);
      });
    });
});

interface PoolCase {
  batch: number;
  height: number;
  width: number;
  channels: number;
  size: number;
  stride: number;
  pad: 'same' | 'valid';
  /** Inputs rounded to halves, so windows hold equal maxima (the first one must win). */
  ties?: boolean;
}

/** 2 pool sizes × 2 strides × 2 paddings × 2 draws = 16 cases per pooling kind. */
function poolCases(): PoolCase[] {
  const cases: PoolCase[] = [];
  let seed = 100;
  for (const size of [2, 3]) {
    for (const stride of [1, 2] as const) {
      for (const pad of ['same', 'valid'] as const) {
        for (let draw = 0; draw < 2; draw++) {
          seed++;
          cases.push({
            batch: pick([1, 4], seed),
            height: pick([4, 7, 8, 11], seed * 3),
            width: pick([5, 6, 9, 12], seed * 5),
            channels: pick([1, 3, 6, 16], seed * 7 + draw),
            size,
            stride,
            pad,
          });
        }
      }
    }
  }
  // Disjoint windows (stride = size, nothing read outside): the kernels' store-only fast path.
  cases.push(
    { batch: 3, height: 28, width: 28, channels: 6, size: 2, stride: 2, pad: 'valid' },
    { batch: 2, height: 10, width: 10, channels: 16, size: 2, stride: 2, pad: 'same', ties: true },
    { batch: 2, height: 9, width: 11, channels: 3, size: 3, stride: 3, pad: 'valid', ties: true },
    { batch: 1, height: 7, width: 5, channels: 4, size: 2, stride: 2, pad: 'valid' },
    // Channels past the last full vector (one more vector overlapping the one before).
    { batch: 2, height: 6, width: 8, channels: 6, size: 2, stride: 2, pad: 'valid', ties: true },
    { batch: 2, height: 4, width: 6, channels: 5, size: 2, stride: 2, pad: 'valid' },
    { batch: 1, height: 6, width: 4, channels: 9, size: 2, stride: 2, pad: 'valid', ties: true },
    // 'same' that pads the bottom/right: not disjoint-inside, the general path.
    { batch: 2, height: 7, width: 7, channels: 2, size: 2, stride: 2, pad: 'same', ties: true },
    // 2×2/2 with a last row and column no window covers (their gradient must be written 0),
    // channel counts past a vector, and the wide layers of the keras presets.
    { batch: 2, height: 9, width: 7, channels: 7, size: 2, stride: 2, pad: 'valid', ties: true },
    { batch: 1, height: 5, width: 9, channels: 12, size: 2, stride: 2, pad: 'valid' },
    { batch: 2, height: 8, width: 6, channels: 32, size: 2, stride: 2, pad: 'valid', ties: true },
    { batch: 1, height: 6, width: 6, channels: 64, size: 2, stride: 2, pad: 'same' },
  );
  return cases;
}

function poolGrad(kind: 'max' | 'avg', c: PoolCase, seed: number): tf.Tensor[] {
  const raw = randomArray(c.batch * c.height * c.width * c.channels, seed);
  const values = c.ties ? raw.map((v) => Math.round(v * 2) / 2) : raw;
  const x = tf.tensor4d(values, [c.batch, c.height, c.width, c.channels]);
  const pool = (a: tf.Tensor) =>
    kind === 'max'
      ? tf.maxPool(a as tf.Tensor4D, c.size, c.stride, c.pad)
      : tf.avgPool(a as tf.Tensor4D, c.size, c.stride, c.pad);
  const y = pool(x);
  const dy = tf.tensor(randomArray(y.size, seed + 2), y.shape);
  return [tf.grad(pool)(x, dy), y];
}

for (const kind of ['max', 'avg'] as const) {
  withAndWithoutSimd(`wasm ${kind}Pool and its gradient match the cpu backend`, () => {
    poolCaseTests(kind);
  });
  describe(`wasm ${kind}Pool and its gradient with the round-7 2×2 kernels (LENET_POOL_FAST=0)`, () => {
    beforeAll(async () => {
      await registerWasmTrainingKernels();
      setPoolFastEnabled(false);
    });
    afterAll(() => setPoolFastEnabled(true));
    poolCaseTests(kind);
  });
}

/**
 * Windows holding NaN, ±∞ together, and values whose sum overflows (the round-8 max kernel's
 * fallback): the same as the round-7 kernel, whose NaN wins (PyTorch's rule; tfjs's cpu skips
 * NaN), and the cpu backend's maxima everywhere else.
 */
describe('wasm 2×2 max pooling of NaN and infinities', () => {
  it("is the round-7 kernel's and, outside the NaN window, the cpu backend's", async () => {
    await registerWasmTrainingKernels();
    const [b, h, w, c] = [2, 6, 8, 6];
    const values = randomArray(b * h * w * c, 77);
    const special = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 3e38, -3e38];
    special.forEach((v, i) => {
      values[((i % b) * h * w + (i + 1) * w + 3) * c + (i % c)] = v;
    });
    // A window with +∞ and −∞ (sum NaN, maximum +∞) and one with two values that overflow.
    values[(h * w + 4 * w) * c + 5] = Number.POSITIVE_INFINITY;
    values[(h * w + 5 * w + 1) * c + 5] = Number.NEGATIVE_INFINITY;
    values[6 * c + 4] = 3e38;
    values[7 * c + 4] = 3e38;
    const run = () => [tf.maxPool(tf.tensor4d(values, [b, h, w, c]), 2, 2, 'valid')];
    const [cpu] = await onBackend('cpu', run);
    const [fast] = await onBackend('wasm', run);
    setPoolFastEnabled(false);
    const [before] = await onBackend('wasm', run).finally(() => setPoolFastEnabled(true));
    expect(Array.from(fast).map(String)).toEqual(Array.from(before).map(String));
    const nan = Array.from(fast.keys()).filter((k) => Number.isNaN(fast[k]));
    expect(nan.length).toBe(1);
    expect(Array.from(fast).filter((_, k) => k !== nan[0])).toEqual(
      Array.from(cpu).filter((_, k) => k !== nan[0]),
    );
    expect(Array.from(fast)).toContain(Number.POSITIVE_INFINITY);
  });
});

function poolCaseTests(kind: 'max' | 'avg'): void {
  poolCases().forEach((c, i) => {
    it(`x[${c.batch},${c.height},${c.width},${c.channels}] pool ${c.size} stride ${c.stride} ${c.pad}${c.ties ? ' ties' : ''}`, async () => {
      // Run on wasm twice with other work between, so a kernel reading stale memory shows up.
      const [cpu, yCpu] = await onBackend('cpu', () => poolGrad(kind, c, 500 + i));
      const [first, yWasm] = await onBackend('wasm', () => poolGrad(kind, c, 500 + i));
      expect(relativeError(yWasm, yCpu), 'forward').toBeLessThan(TOLERANCE);
      const [second] = await onBackend('wasm', () => poolGrad(kind, c, 500 + i));
      expect(first.length).toBe(c.batch * c.height * c.width * c.channels);
      expect(relativeError(first, cpu)).toBeLessThan(TOLERANCE);
      expect(relativeError(second, cpu)).toBeLessThan(TOLERANCE);
    });
  });
}

interface BatchNormCase {
  shape: number[];
  epsilon: number;
}

/**
 * 4-D (conv) and 2-D (dense) inputs, 1/3/6/16 channels. Always with scale and offset: tfjs 4.22
 * itself cannot differentiate batchNorm without a scale (it fails saving the absent input).
 */
const BATCH_NORM_CASES: BatchNormCase[] = [
  { shape: [4, 7, 6, 3], epsilon: 1e-3 },
  { shape: [1, 8, 8, 16], epsilon: 1e-5 },
  { shape: [4, 5, 9, 1], epsilon: 1e-3 },
  { shape: [8, 16], epsilon: 1e-3 },
  { shape: [3, 6], epsilon: 1e-5 },
];

/** Gradients of batch norm with given statistics, and with batch statistics as layers train it. */
function batchNormGrads(c: BatchNormCase, seed: number): tf.Tensor[] {
  const channels = c.shape[c.shape.length - 1];
  const size = c.shape.reduce((a, b) => a * b, 1);
  const x = tf.tensor(randomArray(size, seed), c.shape);
  const mean = tf.tensor1d(randomArray(channels, seed + 1));
  const variance = tf.add(tf.abs(tf.tensor1d(randomArray(channels, seed + 2))), 0.1) as tf.Tensor1D;
  const offset = tf.tensor1d(randomArray(channels, seed + 3));
  const scale = tf.add(tf.tensor1d(randomArray(channels, seed + 4)), 1.5) as tf.Tensor1D;
  const dy = tf.tensor(randomArray(size, seed + 5), c.shape);
  const axes = c.shape.slice(0, -1).map((_, i) => i);
  const given = tf.grads((a: tf.Tensor, m: tf.Tensor, v: tf.Tensor, o: tf.Tensor, s: tf.Tensor) =>
    tf.batchNorm(a, m as tf.Tensor1D, v as tf.Tensor1D, o as tf.Tensor1D, s as tf.Tensor1D, c.epsilon),
  )([x, mean, variance, offset, scale], dy);
  const training = tf.grads((a: tf.Tensor, s: tf.Tensor, o: tf.Tensor) => {
    const m = tf.moments(a, axes);
    return tf.batchNorm(a, m.mean, m.variance, o as tf.Tensor1D, s as tf.Tensor1D, c.epsilon);
  })([x, scale, offset], dy);
  return [...given, ...training];
}

describe('wasm fused batch-norm gradient matches the cpu backend', () => {
  beforeAll(async () => {
    const names = await registerWasmTrainingKernels();
    expect(names).toContain('LenetFusedBatchNormGrad');
  });

  BATCH_NORM_CASES.forEach((c, i) => {
    it(`x[${c.shape.join(',')}] epsilon ${c.epsilon}`, async () => {
      const cpu = await onBackend('cpu', () => batchNormGrads(c, 900 + 10 * i));
      let calls = 0;
      const kernel = tf.getKernel('LenetFusedBatchNormGrad', 'wasm')!;
      const counting = {
        ...kernel,
        kernelFunc: (a: Parameters<typeof kernel.kernelFunc>[0]) => {
          calls++;
          return kernel.kernelFunc(a);
        },
      };
      tf.unregisterKernel(kernel.kernelName, 'wasm');
      tf.registerKernel(counting);
      try {
        const wasm = await onBackend('wasm', () => batchNormGrads(c, 900 + 10 * i));
        expect(calls).toBe(2);
        expect(wasm.length).toBe(cpu.length);
        wasm.forEach((g, j) => {
          expect(relativeError(g, cpu[j]), `gradient ${j}`).toBeLessThan(TOLERANCE);
        });
      } finally {
        tf.unregisterKernel(kernel.kernelName, 'wasm');
        tf.registerKernel(kernel);
      }
    });
  });
});
