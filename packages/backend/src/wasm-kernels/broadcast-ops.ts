import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { BackendError } from '../errors.js';
import type { KernelConfig, KernelFunc, TensorInfo } from '../tfjs.js';
import type { KernelArgs } from './conv-util.js';
import { replacingKernel } from './kernel-config.js';
import { simdKernels, tileFloats } from './simd.js';

const sizeOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** Codes of lenet_binary_rows: [full op broadcast, broadcast op full]. */
const OPS: Record<string, [number, number]> = {
  Add: [0, 0],
  Sub: [1, 2],
  Multiply: [3, 3],
  RealDiv: [4, 5],
};

/**
 * The channel count when `small` broadcasts against `full` along the last axis only (a bias or
 * per-channel statistic: shape [C] or [1, …, 1, C], or a single number: C = 1), else 0.
 */
function lastAxisBroadcast(full: readonly number[], small: readonly number[]): number {
  if (full.length === 0 || small.length > full.length || sizeOf(full) === 0) return 0;
  if (sizeOf(small) === 1) return 1;
  const c = full[full.length - 1];
  if (small[small.length - 1] !== c) return 0;
  for (let i = 0; i < small.length - 1; i++) if (small[i] !== 1) return 0;
  return c;
}

/**
 * Add, Sub, Multiply, RealDiv for wasm where one float32 operand broadcasts along the last axis
 * of the other (bias adds, batch-norm statistics, dropout scaling): one SIMD pass in tiles that
 * line the channel pattern up with the vectors. tfjs-backend-wasm 4.22 runs such broadcasts
 * through a per-element index computation, ~10× slower. Everything else goes to `stock`.
 */
export function makeBroadcastBinary(name: string, stock: KernelFunc | undefined): KernelFunc {
  const codes = OPS[name];
  if (codes === undefined) throw new BackendError(`no broadcast kernel for ${name}`, 'wasm');
  return (args: KernelArgs): TensorInfo => {
    const backend = args.backend as BackendWasm;
    const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
    const simd = a.dtype === 'float32' && b.dtype === 'float32' ? simdKernels(backend) : undefined;
    const cb = simd ? lastAxisBroadcast(a.shape, b.shape) : 0;
    const ca = simd && cb === 0 ? lastAxisBroadcast(b.shape, a.shape) : 0;
    const sameShape = a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i]);
    if (simd === undefined || (cb === 0 && ca === 0) || sameShape) {
      if (stock === undefined) throw new BackendError(`${name}: no stock wasm kernel for this case`, 'wasm');
      return stock(args) as TensorInfo;
    }
    const [full, small, c, op] = cb > 0 ? [a, b, cb, codes[0]] : [b, a, ca, codes[1]];
    const out = backend.makeOutput(full.shape, 'float32');
    const t = tileFloats(c);
    simd.withScratch([t], ([tile]) => {
      simd.fn.lenet_fill_tile(simd.ptr(small), tile, c, t);
      simd.fn.lenet_binary_rows(
        simd.ptr(full),
        tile,
        simd.ptr(small),
        simd.ptr(out),
        sizeOf(full.shape),
        c,
        t,
        op,
      );
    });
    return out;
  };
}

/** The axes a reduction names, normalised and sorted (tfjs accepts a number, negatives, or none). */
function reductionAxes(axis: number | number[] | undefined | null, rank: number): number[] {
  const list =
    axis === undefined || axis === null ? [...Array(rank).keys()] : Array.isArray(axis) ? axis : [axis];
  return [...new Set(list.map((a) => (a < 0 ? a + rank : a)))].sort((x, y) => x - y);
}

/**
 * Sum and Mean for wasm over leading axes of a float32 tensor (bias gradients, batch-norm
 * statistics: axes [0, 1, 2] of NHWC) as one SIMD pass; tfjs-backend-wasm 4.22 transposes the
 * reduced axes to the end first. Other reductions go to `stock`.
 */
export function makeLeadingReduction(name: 'Sum' | 'Mean', stock: KernelFunc | undefined): KernelFunc {
  return (args: KernelArgs): TensorInfo => {
    const backend = args.backend as BackendWasm;
    const { x } = args.inputs as { x: TensorInfo };
    const { axis, keepDims } = (args.attrs ?? {}) as { axis?: number | number[] | null; keepDims?: boolean };
    const rank = x.shape.length;
    const axes = reductionAxes(axis, rank);
    const leading = axes.length > 0 && axes.every((a, i) => a === i);
    const simd = x.dtype === 'float32' && leading && sizeOf(x.shape) > 0 ? simdKernels(backend) : undefined;
    if (simd === undefined) {
      if (stock === undefined) throw new BackendError(`${name}: no stock wasm kernel for this case`, 'wasm');
      return stock(args) as TensorInfo;
    }
    const k = axes.length;
    const rows = sizeOf(x.shape.slice(0, k));
    const c = sizeOf(x.shape.slice(k));
    const shape = keepDims ? [...x.shape.slice(0, k).map(() => 1), ...x.shape.slice(k)] : x.shape.slice(k);
    const out = backend.makeOutput(shape, 'float32');
    const t = tileFloats(c);
    simd.withScratch([t, t], ([tile, acc]) => {
      simd.fn.lenet_sum_rows(simd.ptr(x), simd.ptr(out), rows, c, t, name === 'Mean' ? rows : 1, tile, acc);
    });
    return out;
  };
}

/** One of the broadcasting binary kernels for wasm; `stock` is the kernel it falls back to. */
export function broadcastBinaryConfig(name: string): (stock: KernelConfig | undefined) => KernelConfig {
  return replacingKernel(name, (stock) => makeBroadcastBinary(name, stock));
}

/** Sum or Mean for wasm with the leading-axes fast path; `stock` is the kernel it falls back to. */
export function leadingReductionConfig(
  name: 'Sum' | 'Mean',
): (stock: KernelConfig | undefined) => KernelConfig {
  return replacingKernel(name, (stock) => makeLeadingReduction(name, stock));
}
