import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { BackendError } from '../errors.js';
import {
  AvgPool,
  backend_util,
  type KernelConfig,
  type KernelFunc,
  MaxPool,
  type TensorInfo,
} from '../tfjs.js';
import { type KernelArgs, shape4 } from './conv-util.js';
import { replacingKernel } from './kernel-config.js';
import { pool2x2, pool2x2Geometry } from './pool-util.js';
import { simdKernels } from './simd.js';

/**
 * MaxPool / AvgPool for wasm with a SIMD path for LeNet's pooling (2×2 windows, stride 2, no
 * padding), where XNNPACK's operator set-up costs more than the pass itself; everything else
 * goes to `stock`. Max pooling propagates NaN (as PyTorch); the average is (a+b+c+d)·¼.
 */
export function makePoolWasm(kind: 'max' | 'avg', stock: KernelFunc | undefined): KernelFunc {
  const name = kind === 'max' ? MaxPool : AvgPool;
  return (args: KernelArgs): TensorInfo => {
    const backend = args.backend as BackendWasm;
    const { x } = args.inputs as { x: TensorInfo };
    const attrs = (args.attrs ?? {}) as unknown as {
      filterSize: [number, number] | number;
      strides: [number, number] | number;
      pad: 'valid' | 'same' | number | backend_util.ExplicitPadding;
      dimRoundingMode?: 'floor' | 'round' | 'ceil';
    };
    const info = backend_util.computePool2DInfo(
      shape4(x, name, 'x'),
      attrs.filterSize,
      attrs.strides,
      1,
      attrs.pad,
      attrs.dimRoundingMode,
    );
    const geometry = x.dtype === 'float32' ? pool2x2Geometry(info) : undefined;
    const simd = geometry !== undefined ? simdKernels(backend) : undefined;
    if (simd === undefined || geometry === undefined) {
      if (stock === undefined) throw new BackendError(`${name}: no stock wasm kernel for this case`, 'wasm');
      return stock(args) as TensorInfo;
    }
    const out = backend.makeOutput(info.outShape, 'float32');
    if (info.outShape.reduce((a, b) => a * b, 1) === 0) return out;
    pool2x2(simd, simd.ptr(x), simd.ptr(out), geometry, kind === 'max' ? 0 : 1);
    return out;
  };
}

/** MaxPool or AvgPool for wasm; `stock` (XNNPACK) is kept for the other cases, with its setup. */
export function poolConfig(kind: 'max' | 'avg'): (stock: KernelConfig | undefined) => KernelConfig {
  return replacingKernel(kind === 'max' ? MaxPool : AvgPool, (stock) => makePoolWasm(kind, stock));
}
