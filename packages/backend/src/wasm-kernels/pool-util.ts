import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { BackendError } from '../errors.js';
import { backend_util, type TensorInfo } from '../tfjs.js';
import { type KernelArgs, shape4 } from './conv-util.js';
import { type SimdExports, type SimdKernels, simdKernels } from './simd.js';

const poolEnv = globalThis.process?.env?.LENET_POOL_FAST;
let fastPool = poolEnv !== '0';

/**
 * Turns the round-8 2×2/2 pooling kernels (lenet_max_pool_2x2, lenet_pool_grad_2x2) on or off;
 * off gives the previous ones back, for A/B measurements. Read at every call. The environment
 * variable `LENET_POOL_FAST=0` starts with them off.
 */
export function setPoolFastEnabled(on: boolean): void {
  fastPool = on;
}

/** Whether {@link setPoolFastEnabled} (or `LENET_POOL_FAST`) leaves the round-8 pooling kernels on. */
export function poolFastEnabled(): boolean {
  return fastPool;
}

/**
 * Pool inputs (floats, whole batch) from which the compiled training step's 2×2/2 max pooling
 * keeps each window's first maximum for its gradient instead of reading the input again: 8 MB,
 * past which that input is far out of cache (keras-deep b256's 25.7 MB gained, LeNet-5 b256's
 * 4.8 MB lost).
 */
let argmaxMinFloats = 2_000_000;

/**
 * Sets the input size (floats) from which the compiled step's max pooling keeps its argmax (see
 * `argmaxMinFloats`; Infinity: never, 0: always). Returns the previous value. For tests and A/B.
 */
export function setPoolArgmaxMinFloats(floats: number): number {
  const previous = argmaxMinFloats;
  argmaxMinFloats = floats;
  return previous;
}

/**
 * From this many channels the argmax is kept at any input size (see
 * {@link setPoolArgmaxWideEnabled}): the Keras nets' 64-channel poolings under the size threshold
 * (b64's 14×14 and 7×7, 0.8 and 0.2 M floats; b256's 7×7) lost less in the forward pass
 * (+0.01–0.07 ms) than their gradients gained (−0.1–0.27 ms: a byte per window read in place of
 * its four inputs).
 */
const ARGMAX_WIDE_CHANNELS = 32;
let argmaxWide = globalThis.process?.env?.LENET_POOL_ARGMAX_WIDE !== '0';

/**
 * Turns on or off keeping the argmax of a compiled training step's 2×2/2 max pooling of at
 * least `ARGMAX_WIDE_CHANNELS` channels whatever its size (off: only from
 * {@link setPoolArgmaxMinFloats}'s size), for A/B measurements. Read at every step.
 * `LENET_POOL_ARGMAX_WIDE=0` starts with it off.
 */
export function setPoolArgmaxWideEnabled(on: boolean): void {
  argmaxWide = on;
}

/** Whether a compiled training step's 2×2/2 max pooling of `floats` input floats keeps its argmax. */
export function poolKeepsArgmax(floats: number, c: number): boolean {
  if (!fastPool || c < 4 || argmaxMinFloats === Number.POSITIVE_INFINITY) return false;
  return floats >= argmaxMinFloats || (argmaxWide && c >= ARGMAX_WIDE_CHANNELS);
}

/** Max (kind 0) or average (1) pooling 2×2/2 of x [n, ih, iw, c] into out [n, oh, ow, c], no padding. */
export function pool2x2(
  simd: SimdKernels,
  x: number,
  out: number,
  g: { n: number; ih: number; iw: number; c: number; oh: number; ow: number },
  kind: 0 | 1,
): void {
  if (kind === 0 && fastPool) simd.fn.lenet_max_pool_2x2(x, out, g.n, g.ih, g.iw, g.c, g.oh, g.ow);
  else simd.fn.lenet_pool_2x2(x, out, g.n, g.ih, g.iw, g.c, g.oh, g.ow, kind);
}

/**
 * The gradient of max (kind 0; `x` the pool's input) or average (1; `x` unused) pooling 2×2/2
 * without padding: dx [n, ih, iw, c] from dy [n, oh, ow, c].
 */
export function poolGrad2x2(
  simd: SimdKernels,
  dy: number,
  x: number,
  dx: number,
  g: { n: number; ih: number; iw: number; c: number; oh: number; ow: number },
  kind: 0 | 1,
): void {
  const { n, ih, iw, c, oh, ow } = g;
  if (fastPool) simd.fn.lenet_pool_grad_2x2(dy, x, dx, n, ih, iw, c, oh, ow, kind, 0.25);
  else if (kind === 0) simd.fn.lenet_max_pool_grad(dy, x, dx, n, ih, iw, c, oh, ow, 2, 2, 2, 2, 0, 0);
  else simd.fn.lenet_avg_pool_grad(dy, dx, n, ih, iw, c, oh, ow, 2, 2, 2, 2, 0, 0, 0.25);
}

/** The geometry of a tfjs pool info when it is 2×2/2 without padding (LeNet's pooling), else undefined. */
export function pool2x2Geometry(
  info: backend_util.Conv2DInfo,
): { n: number; ih: number; iw: number; c: number; oh: number; ow: number } | undefined {
  const { top, bottom, left, right } = info.padInfo;
  const fits =
    info.filterHeight === 2 &&
    info.filterWidth === 2 &&
    info.strideHeight === 2 &&
    info.strideWidth === 2 &&
    top + bottom + left + right === 0 &&
    2 * info.outHeight <= info.inHeight &&
    2 * info.outWidth <= info.inWidth;
  if (!fits) return undefined;
  const { batchSize: n, inHeight: ih, inWidth: iw, inChannels: c, outHeight: oh, outWidth: ow } = info;
  return { n, ih, iw, c, oh, ow };
}

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
 * The pool geometry as the SIMD pooling-gradient kernels take it after their tensor pointers: n,
 * ih, iw, c, oh, ow, sh, sw, fh, fw, top, left.
 */
type PoolGeometryArgs =
  Parameters<SimdExports['lenet_max_pool_grad']> extends [number, number, number, ...infer G] ? G : never;

/** {@link PoolGeometryArgs} of a tfjs pool info. */
export function poolGeometryArgs(info: backend_util.Conv2DInfo): PoolGeometryArgs {
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

/**
 * Runs a pooling gradient: dx allocated first (growing the wasm heap would detach views taken
 * before), then the SIMD kernel where it can run, else the JS loop on dx cleared to zero.
 */
export function runPoolGrad(
  args: KernelArgs,
  kernel: string,
  simdGrad: (simd: SimdKernels, setup: PoolGradSetup, out: TensorInfo) => void,
  jsGrad: (setup: PoolGradSetup, dx: Float32Array) => void,
): TensorInfo {
  const setup = poolGradSetup(args, kernel);
  const out = setup.backend.makeOutput(setup.xShape, 'float32');
  const simd = simdKernels(setup.backend);
  if (simd !== undefined) {
    simdGrad(simd, setup, out);
    return out;
  }
  const dx = setup.backend.typedArrayFromHeap(out) as Float32Array;
  dx.fill(0);
  jsGrad(setup, dx);
  return out;
}

/**
 * Calls `visit` for every output position (batch, row, column, in that order) with its window
 * clamped to the input: the offset of its image in the input, the rows [hStart, hEnd) and
 * columns [wStart, wEnd) it covers, and the offset of its channels in dy.
 */
export function forEachPoolWindow(
  info: backend_util.Conv2DInfo,
  visit: (base: number, hStart: number, hEnd: number, wStart: number, wEnd: number, dyOffset: number) => void,
): void {
  const { batchSize, inHeight, inWidth, inChannels: c, outHeight, outWidth } = info;
  const { strideHeight, strideWidth, filterHeight, filterWidth } = info;
  const { top, left } = info.padInfo;
  const imageStride = inHeight * inWidth * c;
  let gi = 0;
  for (let n = 0; n < batchSize; n++) {
    const base = n * imageStride;
    for (let oh = 0; oh < outHeight; oh++) {
      const h0 = oh * strideHeight - top;
      const hStart = Math.max(0, h0);
      const hEnd = Math.min(inHeight, h0 + filterHeight);
      for (let ow = 0; ow < outWidth; ow++, gi += c) {
        const w0 = ow * strideWidth - left;
        visit(base, hStart, hEnd, Math.max(0, w0), Math.min(inWidth, w0 + filterWidth), gi);
      }
    }
  }
}
