import { BackendError } from '../errors.js';
import { backend_util, type KernelFunc, type NamedAttrMap, type TensorInfo } from '../tfjs.js';

/** The padding attributes tfjs passes to its conv kernels. */
export type ConvPad = 'valid' | 'same' | number | backend_util.ExplicitPadding;

/** The attributes tfjs passes to Conv2D and its two gradients (which have no dilations). */
export interface ConvAttrs {
  strides: [number, number] | number;
  pad: ConvPad;
  dataFormat?: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/** tfjs's geometry of a convolution of `xShape` by `filterShape` with these attributes. */
export function convInfo(
  xShape: [number, number, number, number],
  filterShape: [number, number, number, number],
  attrs: ConvAttrs,
  dilations: [number, number] | number = 1,
): backend_util.Conv2DInfo {
  return backend_util.computeConv2DInfo(
    xShape,
    filterShape,
    attrs.strides,
    dilations,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    backend_util.convertConv2DDataFormat(attrs.dataFormat ?? 'NHWC'),
  );
}

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

/** A stride-1-dilation convolution's sizes, with the zero-padded input the SIMD kernels read. */
export interface ConvGeometry {
  n: number;
  h: number;
  w: number;
  ci: number;
  co: number;
  kh: number;
  kw: number;
  oh: number;
  ow: number;
  sh: number;
  sw: number;
  top: number;
  left: number;
  /** Rows and columns of the padded input: every window inside, the input at (top, left). */
  hp: number;
  wp: number;
  /** Whether the padded input differs from the input (a copy is needed). */
  padded: boolean;
}

/** {@link ConvGeometry} of a tfjs conv info. */
export function convGeometry(info: backend_util.Conv2DInfo): ConvGeometry {
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: ci, outChannels: co } = info;
  const { filterHeight: kh, filterWidth: kw, outHeight: oh, outWidth: ow } = info;
  const { strideHeight: sh, strideWidth: sw } = info;
  const { top, left } = info.padInfo;
  const hp = Math.max(h + top, (oh - 1) * sh + kh);
  const wp = Math.max(w + left, (ow - 1) * sw + kw);
  const padded = hp !== h || wp !== w || top !== 0 || left !== 0;
  return { n, h, w, ci, co, kh, kw, oh, ow, sh, sw, top, left, hp, wp, padded };
}
