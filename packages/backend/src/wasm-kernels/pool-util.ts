import { backend_util, type TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { BackendError } from '../errors.js';
import { type KernelArgs, shape4 } from './conv-util.js';

/** What both pooling-gradient kernels start from: their tensors, the pool geometry, dy checked against it. */
export interface PoolGradSetup {
  backend: BackendWasm;
  dy: TensorInfo;
  input: TensorInfo;
  xShape: [number, number, number, number];
  info: backend_util.Conv2DInfo;
}

/** Reads a MaxPoolGrad/AvgPoolGrad call's inputs and attributes and checks dy's shape. */
export function poolGradSetup(args: KernelArgs, kernel: string): PoolGradSetup {
  const backend = args.backend as BackendWasm;
  const { dy, input } = args.inputs as { dy: TensorInfo; input: TensorInfo };
  const attrs = (args.attrs ?? {}) as unknown as {
    filterSize: [number, number] | number;
    strides: [number, number] | number;
    pad: 'valid' | 'same' | number | backend_util.ExplicitPadding;
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
  };
  const xShape = shape4(input, kernel, 'input');
  const info = backend_util.computePool2DInfo(
    xShape,
    attrs.filterSize,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  const expected = [info.batchSize, info.outHeight, info.outWidth, info.inChannels];
  if (dy.shape.join() !== expected.join()) {
    throw new BackendError(
      `${kernel}: dy has shape [${dy.shape.join(', ')}], expected [${expected.join(', ')}]`,
      'wasm',
    );
  }
  return { backend, dy, input, xShape, info };
}

/**
 * The pool geometry as the SIMD pooling-gradient kernels take it: n, ih, iw, c, oh, ow, sh, sw,
 * fh, fw, top, left.
 */
export function poolGeometryArgs(info: backend_util.Conv2DInfo): number[] {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth } = info;
  const { strideHeight, strideWidth, filterHeight, filterWidth } = info;
  return [
    batchSize,
    inHeight,
    inWidth,
    inChannels,
    outHeight,
    outWidth,
    strideHeight,
    strideWidth,
    filterHeight,
    filterWidth,
    info.padInfo.top,
    info.padInfo.left,
  ];
}
