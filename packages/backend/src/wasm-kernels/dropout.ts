import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { BackendError } from '../errors.js';
import type { KernelArgs } from './conv-util.js';
import { simdKernels } from './simd.js';

/**
 * Dropout mask kernel: no inputs (so the tape never asks for its gradient), attrs shape, rate and
 * seed; output 1/(1 − rate) or 0 per element.
 */
export const LENET_DROPOUT_MASK = 'LenetDropoutMask';

/** A seed as the two 32-bit words the mask generator takes. */
function seedWords(seed: number): [number, number] {
  const s = Math.abs(Math.floor(seed));
  return [(s >>> 0) | 0, (Math.floor(s / 2 ** 32) >>> 0) | 0];
}

/**
 * The dropout mask in one SIMD pass (csrc/lenet-kernels.c): element i is kept with probability
 * 1 − rate by a counter-based hash of (seed, i), so the mask depends on the seed only.
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
  const size = shape.reduce((a: number, b: number) => a * b, 1);
  const keep = 1 - rate;
  const [lo, hi] = seedWords(seed);
  if (size > 0) simd.fn.lenet_dropout_mask(simd.ptr(out), size, Math.round(keep * 2 ** 24), 1 / keep, lo, hi);
  return out;
}

/** The dropout mask kernel for wasm. */
export const dropoutMaskConfig: tf.KernelConfig = {
  kernelName: LENET_DROPOUT_MASK,
  backendName: 'wasm',
  kernelFunc: dropoutMaskWasm,
};

/** What the patch reads of tfjs-layers' Dropout layer. */
interface DropoutLayer {
  rate: number;
  seed?: number;
  noiseShape?: unknown;
  getClassName(): string;
  invokeCallHook(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): void;
}
type DropoutCall = (
  this: DropoutLayer,
  inputs: tf.Tensor | tf.Tensor[],
  kwargs: Record<string, unknown>,
) => tf.Tensor | tf.Tensor[];

const dropoutPrototype = Object.getPrototypeOf(tf.layers.dropout({ rate: 0.5 })) as { call: DropoutCall };
/** tfjs-layers' Dropout.call, while ours is in place. */
let stockCall: DropoutCall | undefined;

/**
 * tfjs-layers' Dropout in training on wasm: x · mask from {@link LENET_DROPOUT_MASK} (2 kernels)
 * instead of tfjs's dropout, which draws every random number in JS (`randomUniform`: ~3 ms per
 * torch-bn step at batch 64) and runs 4 kernels. Same distribution, other random numbers; a set
 * seed still gives the same mask every time. Anything else (other backends, inference, noise
 * shapes, subclasses) takes tfjs's own path.
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
    const seed = this.seed ?? Math.floor(Math.random() * 2 ** 32);
    const attrs = { shape: input.shape, rate: this.rate, seed } as unknown as tf.NamedAttrMap;
    const mask = tf.engine().runKernel(LENET_DROPOUT_MASK, {}, attrs) as tf.Tensor;
    return tf.mul(input, mask);
  });
}

/** Routes tfjs-layers' Dropout (training, wasm) to the mask kernel. Idempotent. */
export function installFastDropout(): void {
  if (stockCall !== undefined) return;
  stockCall = dropoutPrototype.call;
  dropoutPrototype.call = fastDropoutCall;
}

/** Puts tfjs-layers' Dropout.call back. Returns whether ours was installed. */
export function uninstallFastDropout(): boolean {
  if (stockCall === undefined) return false;
  dropoutPrototype.call = stockCall;
  stockCall = undefined;
  return true;
}
