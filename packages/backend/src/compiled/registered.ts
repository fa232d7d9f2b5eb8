import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { NamedAttrMap, TensorInfo } from '../tfjs.js';
import { withKernelScope } from '../wasm-kernels/kernel-scope.js';
import type { SimdKernels } from '../wasm-kernels/simd.js';

/**
 * Runs the registered wasm kernel `name` on backend tensors (XNNPACK's, where a compiled layer
 * must compute what TF.js computes with it) and copies its output to byte offset `out`.
 */
export function runRegistered(
  simd: SimdKernels,
  backend: BackendWasm,
  name: string,
  inputs: Record<string, TensorInfo>,
  attrs: object,
  out: number,
): void {
  const result = withKernelScope(backend, 'wasm', (k) => k.run(name, inputs, attrs as NamedAttrMap));
  try {
    const floats = result.shape.reduce((a, b) => a * b, 1);
    const src = simd.ptr(result);
    simd.heap().copyWithin(out / 4, src / 4, src / 4 + floats);
  } finally {
    backend.disposeData(result.dataId);
  }
}
