import { BackendError } from '../errors.js';
import { BatchMatMul, type KernelBackend, type KernelFunc, type TensorInfo } from '../tfjs.js';
import type { KernelArgs } from './conv-util.js';
import { replacingKernel } from './kernel-config.js';
import { withKernelScope } from './kernel-scope.js';
import { makeSimdBatchMatMul } from './matmul.js';

interface BatchMatMulAttrs {
  transposeA: boolean;
  transposeB: boolean;
}

/** The permutation swapping the last two axes of a rank-`rank` tensor. */
function swapLast(rank: number): number[] {
  const perm = Array.from({ length: rank }, (_, i) => i);
  [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1], perm[rank - 2]];
  return perm;
}

/**
 * BatchMatMul with a transposed operand, as an explicit `Transpose` followed by the stock kernel
 * without transposes. tfjs-backend-wasm 4.22 multiplies a transposed operand in a slow strided
 * loop (~12× slower than the plain product at [256, 400] × [400, 120]); the backward pass of every
 * dense layer asks for exactly that (`dy·Wᵀ` and `xᵀ·dy`). A transpose costs one pass over the
 * operand, so the product runs at the plain kernel's speed. Plain products go straight to stock.
 */
export function makeBatchMatMulWasm(stock: KernelFunc | undefined): KernelFunc {
  return (args: KernelArgs): TensorInfo => {
    if (stock === undefined) {
      throw new BackendError('BatchMatMul: the stock wasm kernel is not registered', 'wasm');
    }
    const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
    const attrs = (args.attrs ?? {}) as unknown as BatchMatMulAttrs;
    if (!attrs.transposeA && !attrs.transposeB) return stock(args) as TensorInfo;
    return withKernelScope(args.backend as KernelBackend, 'wasm', (k) => {
      const a2 = attrs.transposeA ? k.run('Transpose', { x: a }, { perm: swapLast(a.shape.length) }) : a;
      const b2 = attrs.transposeB ? k.run('Transpose', { x: b }, { perm: swapLast(b.shape.length) }) : b;
      const out = stock({
        inputs: { a: a2, b: b2 },
        backend: args.backend,
        attrs: { ...args.attrs, transposeA: false, transposeB: false },
      }) as TensorInfo;
      return out;
    });
  };
}

/** BatchMatMul for wasm: transposed operands made explicit (see {@link makeBatchMatMulWasm}). */
export const batchMatMulConfig = replacingKernel(BatchMatMul, (stock) =>
  // The SIMD product first; the transposing composite (which calls the stock one) where it cannot run.
  makeSimdBatchMatMul(makeBatchMatMulWasm(stock)),
);
