import { AvgPoolGrad, backend_util, type KernelConfig, type TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { BackendError } from '../errors.js';
import { type KernelArgs, shape4 } from './conv-util.js';

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
  const backend = args.backend as BackendWasm;
  const { dy, input } = args.inputs as { dy: TensorInfo; input: TensorInfo };
  const attrs = (args.attrs ?? {}) as unknown as {
    filterSize: [number, number] | number;
    strides: [number, number] | number;
    pad: 'valid' | 'same' | number | backend_util.ExplicitPadding;
  };
  const xShape = shape4(input, NAME, 'input');
  const info = backend_util.computePool2DInfo(xShape, attrs.filterSize, attrs.strides, 1, attrs.pad);
  const { batchSize, inHeight, inWidth, inChannels: c, outHeight, outWidth } = info;
  const { strideHeight, strideWidth, filterHeight, filterWidth } = info;
  const { top, left } = info.padInfo;
  if (dy.shape.join() !== [batchSize, outHeight, outWidth, c].join()) {
    throw new BackendError(
      `${NAME}: dy has shape [${dy.shape.join(', ')}], expected [${[batchSize, outHeight, outWidth, c].join(', ')}]`,
      'wasm',
    );
  }
  // Allocate first: growing the wasm heap would detach views taken before.
  const out = backend.makeOutput(xShape, 'float32');
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
