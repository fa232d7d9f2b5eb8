import type { backend_util, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs';
import { BackendError } from '../errors.js';

/** The padding attributes tfjs passes to its conv kernels. */
export type ConvPad = 'valid' | 'same' | number | backend_util.ExplicitPadding;

/** Explicit NHWC padding in the form the Conv2D kernel accepts. */
export function explicitPad(top: number, bottom: number, left: number, right: number): number[][] {
  return [
    [0, 0],
    [top, bottom],
    [left, right],
    [0, 0],
  ];
}

/** Reads a 4-D shape, with a clear error naming the kernel when it is not 4-D. */
export function shape4(t: TensorInfo, kernel: string, what: string): [number, number, number, number] {
  if (t.shape.length !== 4) {
    throw new BackendError(`${kernel}: ${what} must be 4-D, got shape [${t.shape.join(', ')}]`, 'wasm');
  }
  return t.shape as [number, number, number, number];
}

/** Attributes of a stride-1 Conv2D with explicit pads and the given dilation. */
export function conv2dAttrs(pad: number[][], dilations: [number, number] = [1, 1]): NamedAttrMap {
  return {
    strides: [1, 1],
    pad,
    dataFormat: 'NHWC',
    dilations,
    dimRoundingMode: null,
  } as unknown as NamedAttrMap;
}

/** The argument every kernel function receives. */
export type KernelArgs = Parameters<KernelFunc>[0];
