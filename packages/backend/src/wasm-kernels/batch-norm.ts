import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { BackendError } from '../errors.js';
import { FusedBatchNorm, type KernelFunc, type TensorInfo } from '../tfjs.js';
import { channelTile } from './batch-norm-grad.js';
import type { KernelArgs } from './conv-util.js';
import { replacingKernel } from './kernel-config.js';
import { simdKernels, tileFloats } from './simd.js';

/**
 * FusedBatchNorm (the normalisation itself, statistics given) for wasm as one SIMD pass:
 * out = (x − mean)·scale/√(variance + ε) + offset, per channel of the last axis, with the
 * per-channel factor computed once in float64. tfjs-backend-wasm 4.22's kernel is a scalar loop
 * with a division per element. Statistics that are not per-channel vectors go to `stock`.
 */
export function makeBatchNormWasm(stock: KernelFunc | undefined): KernelFunc {
  return (args: KernelArgs): TensorInfo => {
    const backend = args.backend as BackendWasm;
    const { x, mean, variance, offset, scale } = args.inputs as Record<string, TensorInfo | undefined>;
    const eps = Number((args.attrs as { varianceEpsilon?: number } | undefined)?.varianceEpsilon ?? 0.001);
    if (x === undefined || mean === undefined || variance === undefined) {
      throw new BackendError('FusedBatchNorm: inputs x, mean and variance are required', 'wasm');
    }
    const c = x.shape[x.shape.length - 1];
    const perChannel = (t: TensorInfo | undefined) =>
      t === undefined || (t.dtype === 'float32' && t.shape.length === 1 && t.shape[0] === c);
    const simd =
      x.dtype === 'float32' && x.shape.length > 0 && [mean, variance, offset, scale].every(perChannel)
        ? simdKernels(backend)
        : undefined;
    if (simd === undefined) {
      if (stock === undefined)
        throw new BackendError('FusedBatchNorm: no stock wasm kernel for this case', 'wasm');
      return stock(args) as TensorInfo;
    }
    const out = backend.makeOutput(x.shape, 'float32');
    const total = x.shape.reduce((a, b) => a * b, 1);
    if (total === 0) return out;
    const read = (t: TensorInfo | undefined, fill: number) =>
      t === undefined
        ? new Float64Array(c).fill(fill)
        : Float64Array.from(backend.typedArrayFromHeap(t) as Float32Array);
    const meanV = read(mean, 0);
    const varV = read(variance, 1);
    const scaleV = read(scale, 1);
    const offsetV = read(offset, 0);
    const gr = varV.map((v, k) => scaleV[k] / Math.sqrt(v + eps));
    const t = tileFloats(c);
    simd.withScratch([t, t, t], ([meanTile, grTile, offsetTile]) => {
      simd.floats(meanTile, t).set(channelTile(meanV, t));
      simd.floats(grTile, t).set(channelTile(gr, t));
      simd.floats(offsetTile, t).set(channelTile(offsetV, t));
      simd.fn.lenet_batch_norm(simd.ptr(x), meanTile, grTile, offsetTile, simd.ptr(out), total, c, t);
    });
    return out;
  };
}

/** FusedBatchNorm for wasm; `stock` is the kernel it falls back to (its setup kept). */
export const batchNormConfig = replacingKernel(FusedBatchNorm, makeBatchNormWasm);
