import { AvgPoolGrad, type KernelConfig, type TensorInfo } from '../tfjs.js';
import type { KernelArgs } from './conv-util.js';
import {
  forEachPoolWindow,
  pool2x2Geometry,
  poolGeometryArgs,
  poolGrad2x2,
  runPoolGrad,
} from './pool-util.js';

/**
 * AvgPoolGrad for wasm: each dy value, times 1/(filter area), added to every input pixel of its
 * window, as one JS loop over the wasm heap (the stock kernel is correct but slower).
 *
 * Like every tfjs 4.22 backend it divides by the full filter area even where a 'same' window
 * hangs over the border, although the forward pass divides by the pixels inside; kept so that
 * wasm and cpu agree (see docs/backends.md).
 */
export function avgPoolGradWasm(args: KernelArgs): TensorInfo {
  return runPoolGrad(
    args,
    'AvgPoolGrad',
    (simd, { dy, info }, out) => {
      const g = pool2x2Geometry(info);
      if (g !== undefined) return poolGrad2x2(simd, simd.ptr(dy), 0, simd.ptr(out), g, 1);
      const scale = 1 / (info.filterHeight * info.filterWidth);
      simd.fn.lenet_avg_pool_grad(simd.ptr(dy), simd.ptr(out), ...poolGeometryArgs(info), scale);
    },
    ({ backend, dy, info }, dx) => {
      const g = backend.typedArrayFromHeap(dy) as Float32Array;
      const c = info.inChannels;
      const scale = 1 / (info.filterHeight * info.filterWidth);
      const rowStride = info.inWidth * c;
      forEachPoolWindow(info, (base, hStart, hEnd, wStart, wEnd, gi) => {
        for (let h = hStart; h < hEnd; h++) {
          let idx = base + h * rowStride + wStart * c;
          for (let w = wStart; w < wEnd; w++, idx += c) {
            for (let ch = 0; ch < c; ch++) dx[idx + ch] += g[gi + ch] * scale;
          }
        }
      });
    },
  );
}

/** AvgPoolGrad for wasm that replaces the stock one. */
export const avgPoolGradConfig: KernelConfig = {
  kernelName: AvgPoolGrad,
  backendName: 'wasm',
  kernelFunc: avgPoolGradWasm,
};
