import { AvgPoolGrad, type KernelConfig, type TensorInfo } from '@tensorflow/tfjs';
import type { KernelArgs } from './conv-util.js';
import { poolGeometryArgs, poolGradSetup } from './pool-util.js';
import { simdKernels } from './simd.js';

const NAME = 'AvgPoolGrad';

/**
 * AvgPoolGrad for wasm: each dy value, times 1/(filter area), added to every input pixel of its
 * window, as one JS loop over the wasm heap (the stock kernel is correct but slower).
 *
 * Like every tfjs 4.22 backend it divides by the full filter area even where a 'same' window
 * hangs over the border, although the forward pass divides by the pixels inside; kept so that
 * wasm and cpu agree (see docs/backends.md).
 */
export function avgPoolGradWasm(args: KernelArgs): TensorInfo {
  const { backend, dy, xShape, info } = poolGradSetup(args, NAME);
  const { batchSize, inHeight, inWidth, inChannels: c, outHeight, outWidth } = info;
  const { strideHeight, strideWidth, filterHeight, filterWidth } = info;
  const { top, left } = info.padInfo;
  // Allocate first: growing the wasm heap would detach views taken before.
  const out = backend.makeOutput(xShape, 'float32');
  const simd = simdKernels(backend);
  if (simd !== undefined) {
    const [n, ih, iw, c2, oh, ow, sh, sw, fh, fw, t, l] = poolGeometryArgs(info);
    simd.fn.lenet_avg_pool_grad(
      simd.ptr(dy),
      simd.ptr(out),
      n,
      ih,
      iw,
      c2,
      oh,
      ow,
      sh,
      sw,
      fh,
      fw,
      t,
      l,
      1 / (fh * fw),
    );
    return out;
  }
  const dx = backend.typedArrayFromHeap(out) as Float32Array;
  const g = backend.typedArrayFromHeap(dy) as Float32Array;
  dx.fill(0);
  const scale = 1 / (filterHeight * filterWidth);
  const rowStride = inWidth * c;
  const imageStride = inHeight * rowStride;
  let gi = 0;
  for (let n = 0; n < batchSize; n++) {
    const base = n * imageStride;
    for (let oh = 0; oh < outHeight; oh++) {
      const h0 = oh * strideHeight - top;
      const hStart = Math.max(0, h0);
      const hEnd = Math.min(inHeight, h0 + filterHeight);
      for (let ow = 0; ow < outWidth; ow++, gi += c) {
        const w0 = ow * strideWidth - left;
        const wStart = Math.max(0, w0);
        const wEnd = Math.min(inWidth, w0 + filterWidth);
        for (let h = hStart; h < hEnd; h++) {
          let idx = base + h * rowStride + wStart * c;
          for (let w = wStart; w < wEnd; w++, idx += c) {
            for (let ch = 0; ch < c; ch++) dx[idx + ch] += g[gi + ch] * scale;
          }
        }
      }
    }
  }
  return out;
}

/** AvgPoolGrad for wasm that replaces the stock one. */
export const avgPoolGradConfig: KernelConfig = {
  kernelName: AvgPoolGrad,
  backendName: 'wasm',
  kernelFunc: avgPoolGradWasm,
};
