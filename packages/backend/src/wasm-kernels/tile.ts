import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { BackendError } from '../errors.js';
import { type KernelFunc, type TensorInfo, Tile } from '../tfjs.js';
import type { KernelArgs } from './conv-util.js';
import { replacingKernel } from './kernel-config.js';
import { simdKernels } from './simd.js';

/**
 * True when tiling x by reps just repeats x's whole data: x is 1 along every axis before some k
 * and reps is 1 from k on (a per-channel vector broadcast to an activation's shape).
 */
function wholeRepeat(shape: readonly number[], reps: readonly number[]): boolean {
  let k = 0;
  while (k < shape.length && shape[k] === 1) k++;
  return reps.length === shape.length && reps.slice(k).every((r) => r === 1);
}

/**
 * Tile for wasm with a fast path for whole-data repeats (what `broadcastTo` of a statistic or a
 * bias produces): doubling memcpy instead of tfjs-backend-wasm 4.22's per-element index walk.
 * Other tilings go to `stock`.
 */
export function makeTileWasm(stock: KernelFunc | undefined): KernelFunc {
  return (args: KernelArgs): TensorInfo => {
    const backend = args.backend as BackendWasm;
    const { x } = args.inputs as { x: TensorInfo };
    const { reps } = (args.attrs ?? {}) as unknown as { reps: number[] };
    const simd =
      (x.dtype === 'float32' || x.dtype === 'int32') && Array.isArray(reps) && wholeRepeat(x.shape, reps)
        ? simdKernels(backend)
        : undefined;
    if (simd === undefined) {
      if (stock === undefined) throw new BackendError('Tile: no stock wasm kernel for this case', 'wasm');
      return stock(args) as TensorInfo;
    }
    const shape = x.shape.map((d, i) => d * reps[i]);
    const out = backend.makeOutput(shape, x.dtype);
    const len = x.shape.reduce((a, b) => a * b, 1);
    const total = shape.reduce((a, b) => a * b, 1);
    if (total > 0) simd.fn.lenet_repeat(simd.ptr(x), simd.ptr(out), len, total);
    return out;
  };
}

/** Tile for wasm; `stock` is kept for the other cases, with its setup. */
export const tileConfig = replacingKernel(Tile, makeTileWasm);
