import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { BackendError } from '../errors.js';
import {
  engine,
  type GradConfig,
  getBackend,
  getKernel,
  type KernelConfig,
  type NamedAttrMap,
  type NamedTensorMap,
  type Tensor,
  type TensorInfo,
} from '../tfjs.js';
import type { KernelArgs } from './conv-util.js';
import { type SimdKernels, simdKernels, tileFloats } from './simd.js';

/** Name of this package's fused batch-norm gradient kernel (registered for wasm only). */
export const FUSED_BATCH_NORM_GRAD = 'LenetFusedBatchNormGrad';

const NAME = FUSED_BATCH_NORM_GRAD;

/**
 * All five partial derivatives of FusedBatchNorm (per-channel statistics over the last axis of a
 * 4-D x) in two passes over x and dy, instead of tfjs's composite gradient, which tiles the
 * inverse standard deviation to x's full size and runs a dozen elementwise ops and reductions.
 * With r = 1/√(variance + ε) and g = scale (1 when absent), per channel c:
 *   dx = dy·g·r,  dmean = −g·r·Σdy,  dvariance = −½·g·r³·Σdy(x − mean),
 *   dscale = r·Σdy(x − mean),  doffset = Σdy
 * — the same quantities tfjs's own gradient returns (x's total gradient through the batch
 * statistics is then formed by the Mean/Sub ops of `tf.moments`, as before).
 */
export function fusedBatchNormGradWasm(args: KernelArgs): TensorInfo[] {
  const backend = args.backend as BackendWasm;
  const { x, mean, variance, dy, scale } = args.inputs as Record<string, TensorInfo | undefined>;
  const eps = Number((args.attrs as { varianceEpsilon?: number } | undefined)?.varianceEpsilon ?? 0.001);
  if (x === undefined || mean === undefined || variance === undefined || dy === undefined) {
    throw new BackendError(`${NAME}: inputs x, mean, variance and dy are required`, 'wasm');
  }
  const channels = x.shape[x.shape.length - 1];
  if (mean.shape.length !== 1 || mean.shape[0] !== channels || dy.shape.join() !== x.shape.join()) {
    throw new BackendError(
      `${NAME}: expected per-channel statistics [${channels}] and dy shaped like x [${x.shape.join(', ')}], ` +
        `got mean [${mean.shape.join(', ')}] and dy [${dy.shape.join(', ')}]`,
      'wasm',
    );
  }
  // Allocate every output first: growing the wasm heap would detach views taken before.
  const outs = [
    backend.makeOutput(x.shape, 'float32'),
    ...[0, 1, 2, 3].map(() => backend.makeOutput([channels], 'float32')),
  ];
  const simd = simdKernels(backend);
  if (simd !== undefined) {
    gradSimd(simd, backend, { x, mean, variance, dy, scale }, eps, outs);
    return outs;
  }
  const [dxV, dMeanV, dVarV, dScaleV, dOffsetV] = outs.map(
    (o) => backend.typedArrayFromHeap(o) as Float32Array,
  );
  const xV = backend.typedArrayFromHeap(x) as Float32Array;
  const dyV = backend.typedArrayFromHeap(dy) as Float32Array;
  const meanV = backend.typedArrayFromHeap(mean) as Float32Array;
  const varV = backend.typedArrayFromHeap(variance) as Float32Array;
  const scaleV = scale === undefined ? null : (backend.typedArrayFromHeap(scale) as Float32Array);

  const r = new Float64Array(channels);
  const gr = new Float32Array(channels);
  for (let c = 0; c < channels; c++) {
    r[c] = 1 / Math.sqrt(varV[c] + eps);
    gr[c] = (scaleV === null ? 1 : scaleV[c]) * r[c];
  }
  const sumDy = new Float64Array(channels);
  const sumDyXm = new Float64Array(channels);
  const n = xV.length;
  for (let i = 0; i < n; i += channels) {
    for (let c = 0; c < channels; c++) {
      const g = dyV[i + c];
      sumDy[c] += g;
      sumDyXm[c] += g * (xV[i + c] - meanV[c]);
      dxV[i + c] = g * gr[c];
    }
  }
  for (let c = 0; c < channels; c++) {
    const g = scaleV === null ? 1 : scaleV[c];
    dMeanV[c] = -g * r[c] * sumDy[c];
    dVarV[c] = -0.5 * g * r[c] * r[c] * r[c] * sumDyXm[c];
    dScaleV[c] = r[c] * sumDyXm[c];
    dOffsetV[c] = sumDy[c];
  }
  return outs;
}

/** Per-channel values repeated over a tile of t floats (channels·k = t). */
export function channelTile(values: ArrayLike<number>, t: number): Float32Array {
  const tile = new Float32Array(t);
  for (let k = 0; k < t; k++) tile[k] = values[k % values.length];
  return tile;
}

/**
 * The SIMD version of the pass above (csrc/lenet-kernels.c: dx and the two per-channel sums in
 * one pass over x and dy); the per-channel outputs are then formed here in float64 as before.
 */
function gradSimd(
  simd: SimdKernels,
  backend: BackendWasm,
  t: { x: TensorInfo; mean: TensorInfo; variance: TensorInfo; dy: TensorInfo; scale: TensorInfo | undefined },
  eps: number,
  outs: TensorInfo[],
): void {
  const channels = t.x.shape[t.x.shape.length - 1];
  const total = t.x.shape.reduce((a, b) => a * b, 1);
  const meanV = Float64Array.from(backend.typedArrayFromHeap(t.mean) as Float32Array);
  const varV = Float64Array.from(backend.typedArrayFromHeap(t.variance) as Float32Array);
  const scaleV =
    t.scale === undefined ? null : Float64Array.from(backend.typedArrayFromHeap(t.scale) as Float32Array);
  const r = varV.map((v) => 1 / Math.sqrt(v + eps));
  const gr = r.map((v, c) => (scaleV === null ? 1 : scaleV[c]) * v);
  const tile = tileFloats(channels);
  simd.withScratch([tile, tile, channels, channels, 4 * tile], ([meanTile, grTile, sumDy, sumDyXm, work]) => {
    simd.floats(meanTile, tile).set(channelTile(meanV, tile));
    simd.floats(grTile, tile).set(channelTile(gr, tile));
    simd.fn.lenet_batch_norm_grad(
      simd.ptr(t.x),
      simd.ptr(t.dy),
      meanTile,
      grTile,
      simd.ptr(outs[0]),
      sumDy,
      sumDyXm,
      total,
      channels,
      tile,
      work,
    );
    const sDy = simd.floats(sumDy, channels);
    const sDyXm = simd.floats(sumDyXm, channels);
    const [dMeanV, dVarV, dScaleV, dOffsetV] = outs
      .slice(1)
      .map((o) => backend.typedArrayFromHeap(o) as Float32Array);
    for (let c = 0; c < channels; c++) {
      const g = scaleV === null ? 1 : scaleV[c];
      dMeanV[c] = -g * r[c] * sDy[c];
      dVarV[c] = -0.5 * g * r[c] * r[c] * r[c] * sDyXm[c];
      dScaleV[c] = r[c] * sDyXm[c];
      dOffsetV[c] = sDy[c];
    }
  });
}

/** The fused batch-norm gradient kernel for wasm. */
export const fusedBatchNormGradKernelConfig: KernelConfig = {
  kernelName: FUSED_BATCH_NORM_GRAD,
  backendName: 'wasm',
  kernelFunc: fusedBatchNormGradWasm,
};

/**
 * The FusedBatchNorm gradient with a fast path: on wasm, for per-channel statistics of a float32
 * 4-D x, it runs {@link FUSED_BATCH_NORM_GRAD} once; everywhere else it is `original` unchanged.
 * (Gradients are registered for all backends at once, hence the dispatch.)
 */
export function fusedBatchNormGradConfig(original: GradConfig): GradConfig {
  return {
    ...original,
    gradFunc: (dy: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
      const [x, mean, variance, scale] = saved;
      const g = Array.isArray(dy) ? dy[0] : dy;
      const fast =
        getBackend() === 'wasm' &&
        getKernel(FUSED_BATCH_NORM_GRAD, 'wasm') !== undefined &&
        x.rank === 4 &&
        mean.rank === 1 &&
        variance.rank === 1 &&
        (scale == null || scale.rank === 1) &&
        [x, mean, variance, g, scale].every((t) => t == null || t.dtype === 'float32');
      if (!fast) return original.gradFunc(dy, saved, attrs);
      const inputs: NamedTensorMap = { x, mean, variance, dy: g };
      if (scale != null) inputs.scale = scale;
      const [dx, dMean, dVariance, dScale, dOffset] = engine().runKernel<Tensor[]>(
        FUSED_BATCH_NORM_GRAD,
        inputs,
        {
          varianceEpsilon: attrs.varianceEpsilon,
        },
      );
      return {
        x: () => dx,
        mean: () => dMean,
        variance: () => dVariance,
        scale: () => dScale,
        offset: () => dOffset,
      };
    },
  };
}
