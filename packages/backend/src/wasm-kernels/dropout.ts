import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { BackendError } from '../errors.js';
import * as tf from '../tfjs.js';
import { type DropoutCall, type DropoutLayer, dropoutPrototype } from '../tfjs-internals.js';
import type { KernelArgs } from './conv-util.js';
import { type SimdKernels, simdKernels } from './simd.js';

/**
 * Dropout mask kernel: no inputs (so the tape never asks for its gradient), attrs shape, rate and
 * seed; output 1/(1 − rate) or 0 per element.
 */
export const LENET_DROPOUT_MASK = 'LenetDropoutMask';

/**
 * seedrandom's `Mash` (the hash seedrandom.alea seeds its state with), as in seedrandom 3.0.5,
 * which tfjs-core's `randomUniform` uses: the same state gives the same numbers.
 */
function mash(): (data: string) => number {
  let n = 0xefc8249d;
  return (data: string) => {
    for (let i = 0; i < data.length; i++) {
      n += data.charCodeAt(i);
      let h = 0.02519603282416938 * n;
      n = h >>> 0;
      h -= n;
      h *= n;
      n = h >>> 0;
      h -= n;
      n += h * 0x100000000;
    }
    return (n >>> 0) * 2.3283064365386963e-10;
  };
}

/** The Alea generator's initial state for `seed`, as `seedrandom.alea(seed)` sets it up. */
function aleaState(seed: string): [number, number, number, number] {
  const m = mash();
  let s0 = m(' ');
  let s1 = m(' ');
  let s2 = m(' ');
  s0 -= m(seed);
  if (s0 < 0) s0 += 1;
  s1 -= m(seed);
  if (s1 < 0) s1 += 1;
  s2 -= m(seed);
  if (s2 < 0) s2 += 1;
  return [s0, s1, s2, 1];
}

/**
 * The dropout mask as tfjs's `dropout` makes it, in one wasm pass (csrc/lenet-kernels.c): the
 * same Alea numbers from the same seed, the same float32 arithmetic, so the mask is bit for bit
 * the one tfjs would use (on every backend), only without tfjs drawing each number in JS and
 * running four kernels on them.
 */
function dropoutMaskWasm(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as BackendWasm;
  const { shape, rate, seed } = (args.attrs ?? {}) as { shape?: number[]; rate?: number; seed?: number };
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new BackendError(
      `${LENET_DROPOUT_MASK}: needs a shape of non-negative integers, got ${shape}`,
      'wasm',
    );
  }
  if (
    typeof rate !== 'number' ||
    !(rate > 0 && rate < 1) ||
    typeof seed !== 'number' ||
    !Number.isFinite(seed)
  ) {
    throw new BackendError(
      `${LENET_DROPOUT_MASK}: needs 0 < rate < 1 and a finite seed, got ${rate} and ${seed}`,
      'wasm',
    );
  }
  const simd = simdKernels(backend);
  if (simd === undefined)
    throw new BackendError(`${LENET_DROPOUT_MASK}: the SIMD kernels are not available`, 'wasm');
  const out = backend.makeOutput(shape, 'float32');
  dropoutMaskInto(
    simd,
    simd.ptr(out),
    shape.reduce((a: number, b: number) => a * b, 1),
    rate,
    seed,
  );
  return out;
}

/**
 * Writes the dropout mask tfjs draws for `seed` and `rate` (0 < rate < 1) into `size` floats at
 * byte offset `ptr` of the wasm heap: the one mask rule of this kernel and the compiled step.
 */
export function dropoutMaskInto(
  simd: SimdKernels,
  ptr: number,
  size: number,
  rate: number,
  seed: number,
): void {
  // tfjs: keepProb = 1 − rate, added to the uniform numbers as a float32 scalar.
  const keep = Math.fround(1 - rate);
  const [s0, s1, s2, c] = aleaState(seed.toString());
  if (size > 0) simd.fn.lenet_dropout_mask(ptr, size, s0, s1, s2, c, keep);
}

/** The dropout mask kernel for wasm. */
export const dropoutMaskConfig: tf.KernelConfig = {
  kernelName: LENET_DROPOUT_MASK,
  backendName: 'wasm',
  kernelFunc: dropoutMaskWasm,
};

/** tfjs-layers' Dropout.call, while ours is in place. */
let stockCall: DropoutCall | undefined;

/**
 * tfjs-layers' Dropout in training on wasm: x · mask from {@link LENET_DROPOUT_MASK} (2 kernels)
 * instead of tfjs's dropout, which draws every random number in JS (`randomUniform`: ~3 ms per
 * torch-bn step at batch 64) and runs 4 kernels. The mask is the one tfjs would draw for the same
 * seed (same generator, same float32 arithmetic). Anything else (other backends, inference,
 * noise shapes, subclasses) takes tfjs's own path.
 */
function fastDropoutCall(
  this: DropoutLayer,
  inputs: tf.Tensor | tf.Tensor[],
  kwargs: Record<string, unknown>,
) {
  const stock = stockCall as DropoutCall;
  const input = Array.isArray(inputs) ? inputs[0] : inputs;
  if (
    kwargs?.training !== true ||
    !(this.rate > 0 && this.rate < 1) ||
    this.noiseShape != null ||
    this.getClassName() !== 'Dropout' ||
    (Array.isArray(inputs) && inputs.length !== 1) ||
    input?.dtype !== 'float32' ||
    tf.getBackend() !== 'wasm' ||
    tf.getKernel(LENET_DROPOUT_MASK, 'wasm') === undefined
  ) {
    return stock.call(this, inputs, kwargs);
  }
  return tf.tidy(() => {
    this.invokeCallHook(inputs, kwargs);
    // tfjs seeds an unseeded dropout with Math.random().
    const seed = this.seed ?? Math.random();
    const attrs = { shape: input.shape, rate: this.rate, seed } as unknown as tf.NamedAttrMap;
    const mask = tf.engine().runKernel(LENET_DROPOUT_MASK, {}, attrs) as tf.Tensor;
    return tf.mul(input, mask);
  });
}

/** Routes tfjs-layers' Dropout (training, wasm) to the mask kernel. Idempotent. */
export function installFastDropout(): void {
  if (stockCall !== undefined) return;
  stockCall = dropoutPrototype().call;
  dropoutPrototype().call = fastDropoutCall;
}

/** Puts tfjs-layers' Dropout.call back. Returns whether ours was installed. */
export function uninstallFastDropout(): boolean {
  if (stockCall === undefined) return false;
  dropoutPrototype().call = stockCall;
  stockCall = undefined;
  return true;
}
