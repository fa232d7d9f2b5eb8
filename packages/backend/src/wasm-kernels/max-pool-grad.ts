import { type KernelConfig, MaxPoolGrad, type TensorInfo } from '../tfjs.js';
import type { KernelArgs } from './conv-util.js';
import {
  forEachPoolWindow,
  pool2x2Geometry,
  poolGeometryArgs,
  poolGrad2x2,
  runPoolGrad,
} from './pool-util.js';

/**
 * MaxPoolGrad for wasm: each dy value goes to the first maximum of its window in the input
 * (row-major window order, pads never win), the rule the cpu backend uses.
 *
 * tfjs-backend-wasm 4.22's own MaxPoolGrad returns wrong values for many shapes (its output
 * buffer is not cleared before it accumulates into it, so results depend on what was in that
 * memory). This one clears dx and runs as one tight JS loop over the wasm heap, O(dy · window).
 */
export function maxPoolGradWasm(args: KernelArgs): TensorInfo {
  return runPoolGrad(
    args,
    'MaxPoolGrad',
    (simd, { dy, input, info }, out) => {
      const g = pool2x2Geometry(info);
      if (g !== undefined) poolGrad2x2(simd, simd.ptr(dy), simd.ptr(input), simd.ptr(out), g, 0);
      else
        simd.fn.lenet_max_pool_grad(simd.ptr(dy), simd.ptr(input), simd.ptr(out), ...poolGeometryArgs(info));
    },
    ({ backend, dy, input, info }, dx) => {
      const x = backend.typedArrayFromHeap(input) as Float32Array;
      const g = backend.typedArrayFromHeap(dy) as Float32Array;
      const c = info.inChannels;
      const rowStride = info.inWidth * c;
      forEachPoolWindow(info, (base, hStart, hEnd, wStart, wEnd, gi) => {
        for (let ch = 0; ch < c; ch++) {
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
          if (best >= 0) dx[best] += g[gi + ch];
        }
      });
    },
  );
}

/** MaxPoolGrad for wasm that replaces the stock (incorrect) one. */
export const maxPoolGradConfig: KernelConfig = {
  kernelName: MaxPoolGrad,
  backendName: 'wasm',
  kernelFunc: maxPoolGradWasm,
};
