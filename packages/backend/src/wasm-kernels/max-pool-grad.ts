import { type KernelConfig, MaxPoolGrad, type TensorInfo } from '@tensorflow/tfjs';
import type { KernelArgs } from './conv-util.js';
import { poolGeometryArgs, poolGradSetup } from './pool-util.js';
import { simdKernels } from './simd.js';

const NAME = 'MaxPoolGrad';

/**
 * MaxPoolGrad for wasm: each dy value goes to the first maximum of its window in the input
 * (row-major window order, pads never win), the rule the cpu backend uses.
 *
 * tfjs-backend-wasm 4.22's own MaxPoolGrad returns wrong values for many shapes (its output
 * buffer is not cleared before it accumulates into it, so results depend on what was in that
 * memory). This one clears dx and runs as one tight JS loop over the wasm heap, O(dy · window).
 */
export function maxPoolGradWasm(args: KernelArgs): TensorInfo {
  const { backend, dy, input, xShape, info } = poolGradSetup(args, NAME);
  const { batchSize, inHeight, inWidth, inChannels: c, outHeight, outWidth } = info;
  const { strideHeight, strideWidth, filterHeight, filterWidth } = info;
  const { top, left } = info.padInfo;
  // Allocate first: growing the wasm heap would detach views taken before.
  const out = backend.makeOutput(xShape, 'float32');
  const simd = simdKernels(backend);
  if (simd !== undefined) {
    const [n, ih, iw, c2, oh, ow, sh, sw, fh, fw, t, l] = poolGeometryArgs(info);
    simd.fn.lenet_max_pool_grad(
      simd.ptr(dy),
      simd.ptr(input),
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
    );
    return out;
  }
  const dx = backend.typedArrayFromHeap(out) as Float32Array;
  const x = backend.typedArrayFromHeap(input) as Float32Array;
  const g = backend.typedArrayFromHeap(dy) as Float32Array;
  dx.fill(0);
  const rowStride = inWidth * c;
  const imageStride = inHeight * rowStride;
  let gi = 0;
  for (let n = 0; n < batchSize; n++) {
    const base = n * imageStride;
    for (let oh = 0; oh < outHeight; oh++) {
      const h0 = oh * strideHeight - top;
      const hStart = Math.max(0, h0);
      const hEnd = Math.min(inHeight, h0 + filterHeight);
      for (let ow = 0; ow < outWidth; ow++) {
        const w0 = ow * strideWidth - left;
        const wStart = Math.max(0, w0);
        const wEnd = Math.min(inWidth, w0 + filterWidth);
        for (let ch = 0; ch < c; ch++, gi++) {
          let best = -1;
          let bestValue = Number.NEGATIVE_INFINITY;
          for (let h = hStart; h < hEnd; h++) {
            let idx = base + h * rowStride + wStart * c + ch;
            for (let w = wStart; w < wEnd; w++, idx += c) {
              const v = x[idx];
              if (v > bestValue || best < 0) {
                bestValue = v;
                best = idx;
              }
            }
          }
          if (best >= 0) dx[best] += g[gi];
        }
      }
    }
  }
  return out;
}

/** MaxPoolGrad for wasm that replaces the stock (incorrect) one. */
export const maxPoolGradConfig: KernelConfig = {
  kernelName: MaxPoolGrad,
  backendName: 'wasm',
  kernelFunc: maxPoolGradWasm,
};
