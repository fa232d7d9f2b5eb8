import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import {
  type backend_util,
  Conv2DBackpropFilter,
  type KernelBackend,
  type KernelConfig,
  type TensorInfo,
} from '../tfjs.js';
import type { KernelArgs } from './conv-util.js';
import {
  type ConvAttrs,
  type ConvGeometry,
  conv2dAttrs,
  convGeometry,
  convInfo,
  explicitPad,
  shape4,
} from './conv-util.js';
import { wideFilterGradient, wideFilterGradScratch, wideFilterGradTakes } from './conv-wide.js';
import {
  winogradFilterGradient,
  winogradFilterGradScratch,
  winogradFilterGradTakes,
} from './conv-winograd.js';
import { withKernelScope } from './kernel-scope.js';
import { roundUp4, type SimdKernels, simdKernels } from './simd.js';
import { runSplit } from './split.js';

const NAME = 'Conv2DBackpropFilter';

/**
 * Which kernel computes the filter gradient of convolution `g` (channels last): Winograd
 * (conv-winograd.ts) where that takes the geometry, else the wide chunked kernel (conv-wide.ts)
 * where it does, else the direct SIMD pass ({@link filterGradient}). The registered kernel and the
 * compiled training step both choose here.
 */
export function filterGradKernel(g: ConvGeometry): 'direct' | 'winograd' | 'wide' {
  if (winogradFilterGradTakes(g)) return 'winograd';
  return wideFilterGradTakes(g) ? 'wide' : 'direct';
}

/**
 * dW[kh, kw, ci, co] = Σ over n, oh, ow of x[n, oh·s + kh − padTop, ow·s + kw − padLeft, ci] · dy[n, oh, ow, co].
 *
 * That is a forward convolution in disguise, run on wasm's fast (XNNPACK) Conv2D:
 * x transposed to [ci, H, W, N] plays the image (in-channels as batch, batch as channels),
 * dy transposed to [OH, OW, N, co] plays the filter, dilated by the forward stride, with the
 * forward pads made explicit. The result [ci, KH', KW', co] (KH' ≥ KH when strided rows at the
 * bottom/right were never read) is cropped to KH×KW and transposed to [KH, KW, ci, co].
 */
export function conv2dBackpropFilterWasm(args: KernelArgs): TensorInfo {
  const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo };
  const attrs = (args.attrs ?? {}) as unknown as ConvAttrs & {
    filterShape: [number, number, number, number];
  };
  const xShape = shape4(x, NAME, 'x');
  shape4(dy, NAME, 'dy');
  const channelsLast = attrs.dataFormat !== 'NCHW';
  const info = convInfo(xShape, attrs.filterShape, attrs);
  const { filterHeight: kh, filterWidth: kw, inHeight: h, inWidth: w, outHeight: oh, outWidth: ow } = info;
  const { strideHeight: sh, strideWidth: sw, inChannels: ci, outChannels: co } = info;
  const { top, left } = info.padInfo;
  const bottom = Math.max(0, kh + (oh - 1) * sh - h - top);
  const right = Math.max(0, kw + (ow - 1) * sw - w - left);

  const simd = channelsLast ? simdKernels(args.backend as BackendWasm) : undefined;
  if (simd !== undefined) {
    return filterGradSimd(simd, args.backend as BackendWasm, x, dy, info);
  }
  return withKernelScope(args.backend as KernelBackend, 'wasm', (k) => {
    const image = k.run('Transpose', { x }, { perm: channelsLast ? [3, 1, 2, 0] : [1, 2, 3, 0] });
    const filter = k.run('Transpose', { x: dy }, { perm: channelsLast ? [1, 2, 0, 3] : [2, 3, 0, 1] });
    let grad = k.run(
      'Conv2D',
      { x: image, filter },
      conv2dAttrs(explicitPad(top, bottom, left, right), [sh, sw]),
    );
    if (grad.shape[1] !== kh || grad.shape[2] !== kw) {
      grad = k.run('Slice', { x: grad }, { begin: [0, 0, 0, 0], size: [ci, kh, kw, co] });
    }
    return k.run('Transpose', { x: grad }, { perm: [1, 2, 0, 3] });
  });
}

/**
 * The same gradient as one SIMD pass over x and dy (csrc/lenet-kernels.c), without the
 * transposes: x zero-padded when the conv pads, dy's channels padded to a multiple of 4.
 */
function filterGradSimd(
  simd: SimdKernels,
  backend: BackendWasm,
  x: TensorInfo,
  dy: TensorInfo,
  info: backend_util.Conv2DInfo,
): TensorInfo {
  const g = convGeometry(info);
  const { n, h, w, ci, co, kh, kw, oh, ow, top, left, hp, wp, padded: padX } = g;
  const co4 = roundUp4(co);
  const pixels = n * oh * ow;
  const rows = kh * kw * ci;
  const out = backend.makeOutput([kh, kw, ci, co], 'float32');
  if (rows * co === 0) return out;
  const f = simd.fn;
  // dy's channels padded to a multiple of 4 only when reading 16 bytes past it could leave the
  // wasm memory: otherwise the kernel reads it in place (see lenet_conv_filter_grad).
  const padDy = co4 !== co && simd.ptr(dy) + pixels * co * 4 + 16 > simd.heap().byteLength;
  const kernel = filterGradKernel(g);
  if (kernel !== 'direct') {
    const work = kernel === 'winograd' ? winogradFilterGradScratch(g) : wideFilterGradScratch(g);
    simd.withScratch([padX ? n * hp * wp * ci : 0, work], ([xp, scratch]) => {
      if (padX) f.lenet_pad_nhwc(simd.ptr(x), xp, n, h, w, ci, hp, wp, top, left);
      const input = padX ? xp : simd.ptr(x);
      if (kernel === 'winograd') winogradFilterGradient(simd, g, input, simd.ptr(dy), simd.ptr(out), scratch);
      else wideFilterGradient(simd, g, input, simd.ptr(dy), simd.ptr(out), scratch);
    });
    return out;
  }
  simd.withScratch(
    [padX ? n * hp * wp * ci : 0, padDy ? pixels * co4 : 0, co4 !== co ? rows * co4 : 0],
    (s) => {
      const xp = padX ? s[0] : simd.ptr(x);
      if (padX) f.lenet_pad_nhwc(simd.ptr(x), xp, n, h, w, ci, hp, wp, top, left);
      const dyp = padDy ? s[1] : simd.ptr(dy);
      if (padDy) f.lenet_copy_rows(simd.ptr(dy), co, dyp, co4, pixels, co, pixels * co4);
      filterGradient(simd, g, xp, dyp, padDy ? co4 : co, simd.ptr(out), s[2]);
    },
  );
  return out;
}

/**
 * The filter gradient on wasm-heap buffers (byte offsets): dW [kh, kw, ci, co] from the padded
 * input `xp` [n, hp, wp, ci] and dy [n, oh, ow, ·] with `dyStride` floats per pixel (co, when 16
 * bytes past dy are readable, or co rounded up to 4), split over the helper threads (each sums its
 * images; the partial gradients are added up). `dw4`: kh·kw·ci·co4 floats of scratch when co is
 * not a multiple of 4, else 0. The registered Conv2DBackpropFilter and the compiled training
 * step both run this.
 */
export function filterGradient(
  simd: SimdKernels,
  g: ConvGeometry,
  xp: number,
  dy: number,
  dyStride: number,
  out: number,
  dw4: number,
): void {
  const { n, ci, co, kh, kw, oh, ow, sh, sw, hp, wp } = g;
  const co4 = roundUp4(co);
  const rows = kh * kw * ci;
  const dw = co4 !== co ? dw4 : out;
  runSplit(simd, {
    fn: 'lenet_conv_filter_grad',
    macs: n * oh * ow * co * rows,
    items: n,
    perItem: [
      { ptr: xp, floats: hp * wp * ci },
      { ptr: dy, floats: oh * ow * dyStride },
    ],
    whole: [],
    out: { ptr: dw, floats: rows * co4, sum: true },
    args: (p, count) => [
      p.perItem[0],
      p.perItem[1],
      p.out,
      count,
      hp,
      wp,
      ci,
      oh,
      ow,
      co4,
      kh,
      kw,
      sh,
      sw,
      dyStride,
    ],
  });
  if (co4 !== co) simd.fn.lenet_copy_rows(dw, co4, out, co, rows, co, 0);
}

let poolDw = globalThis.process?.env?.LENET_TRAIN_POOL_DW !== '0';

/**
 * Turns on or off (for A/B measurements) the compiled training step's filter gradient of a conv2d
 * with its max pooling fused (`poolFilterGradient`) where `poolFilterGradTakes`: off,
 * the pooled gradient is scattered to the conv output's size and the layer's filter gradient
 * kernel reads it. Read at every step. `LENET_TRAIN_POOL_DW=0` starts with it off.
 */
export function setTrainPoolFilterGradEnabled(on: boolean): void {
  poolDw = on;
}

/**
 * Whether `poolFilterGradient` takes the filter gradient of convolution `g` (whose 2×2/2
 * max pooling ran fused, keeping its argmax): a stride-1 3×3 kernel where {@link filterGradKernel}
 * runs the wide kernel without its transposed form (fewer than 16 input channels, so the sums are
 * bit for bit that kernel's), with {@link setTrainPoolFilterGradEnabled} on.
 */
export function poolFilterGradTakes(g: ConvGeometry): boolean {
  return (
    poolDw &&
    g.kh === 3 &&
    g.kw === 3 &&
    g.sh === 1 &&
    g.sw === 1 &&
    filterGradKernel(g) === 'wide' &&
    // No scratch: the wide kernel sums dW itself, not its transpose.
    wideFilterGradScratch(g) === 0
  );
}

/**
 * The filter gradient dW [3, 3, ci, co] of a stride-1 3×3 convolution whose 2×2/2 max pooling
 * ran fused with it (`convPoolForward` keeping `arg`), from the padded input `xp`, the pooled
 * output's gradient `dy` [n, oh/2, ow/2, co] (the activation's gradient applied) and the argmax
 * bytes `arg`: the conv output's gradient is never laid out. Split over the helper threads by
 * images as {@link wideFilterGradient} splits (the partial gradients added up): bit for bit its
 * result from the scattered gradient. When `poolFilterGradTakes`.
 */
export function poolFilterGradient(
  simd: SimdKernels,
  g: ConvGeometry,
  xp: number,
  dy: number,
  arg: number,
  out: number,
): void {
  const { n, ci, co, oh, ow, hp, wp } = g;
  const ph = oh / 2;
  const pw = ow / 2;
  runSplit(simd, {
    fn: 'lenet_conv_filter_grad_pool2_arg',
    macs: n * oh * ow * co * 9 * ci,
    items: n,
    perItem: [
      { ptr: xp, floats: hp * wp * ci },
      { ptr: dy, floats: ph * pw * co },
      // A byte a value: whole floats, as the argmax's forward pass keeps them (trainPoolFits).
      { ptr: arg, floats: (ph * pw * co) / 4 },
    ],
    whole: [],
    out: { ptr: out, floats: 9 * ci * co, sum: true },
    args: (p, count) => [p.perItem[0], p.perItem[1], p.perItem[2], p.out, count, hp, wp, ci, ph, pw, co],
  });
}

let poolBackward = globalThis.process?.env?.LENET_TRAIN_POOL_BACKWARD !== '0';

/**
 * Turns on or off (for A/B measurements) the compiled training step's whole backward pass of a
 * conv2d with its max pooling fused, image by image from the pooled gradient
 * (`poolBackwardGradients`), where `poolBackwardTakes`: off, the pooled gradient is scattered to
 * the conv output's size and the filter and input gradient kernels each read it. Read at every
 * step. `LENET_TRAIN_POOL_BACKWARD=0` starts with it off.
 */
export function setTrainPoolBackwardEnabled(on: boolean): void {
  poolBackward = on;
}

let poolSparseDw = globalThis.process?.env?.LENET_TRAIN_POOL_SPARSE_DW !== '0';

/**
 * Turns on or off (for A/B measurements) `poolBackwardGradients`' filter gradient that skips each
 * pooling window's three zero gradients (a quarter of the multiply-adds, its own summation order)
 * where `poolSparseFilterGradTakes`: off, it sums the scattered gradient as
 * `filterGradient` does. Read at every step. `LENET_TRAIN_POOL_SPARSE_DW=0` starts with it off.
 */
export function setTrainPoolSparseFilterGradEnabled(on: boolean): void {
  poolSparseDw = on;
}

let poolSparseRows = globalThis.process?.env?.LENET_TRAIN_POOL_SPARSE_ROWS !== '0';

/**
 * Turns on or off (for A/B measurements) the sparse filter gradient's form that keeps all filter
 * rows' sums in registers where the shape allows (5 filter rows of 5–8 floats: LeNet-5's first
 * layer), bit for bit the other form. Read at every step. `LENET_TRAIN_POOL_SPARSE_ROWS=0` starts with it off.
 */
export function setTrainPoolSparseRowsEnabled(on: boolean): void {
  poolSparseRows = on;
}

/** Whether `poolBackwardGradients` skips the windows' zeros in the filter gradient of `g` (kw·ci ≤ 32). */
export function poolSparseFilterGradTakes(g: ConvGeometry): boolean {
  return poolSparseDw && g.kw * g.ci <= 32;
}

let poolSparseDx = globalThis.process?.env?.LENET_TRAIN_POOL_SPARSE_DX !== '0';

/**
 * Turns on or off (for A/B measurements) `poolBackwardGradients`' input gradient that skips each
 * pooling window's three zero gradients (a quarter of the multiply-adds, its own summation order)
 * where `poolSparseInputGradTakes`: off, it runs the direct gather on the scattered
 * gradient. Read at every step. `LENET_TRAIN_POOL_SPARSE_DX=0` starts with it off.
 */
export function setTrainPoolSparseInputGradEnabled(on: boolean): void {
  poolSparseDx = on;
}

/** Whether `poolBackwardGradients` skips the windows' zeros in the input gradient of `g` (kw·ci ≤ 32, co ≤ 64). */
export function poolSparseInputGradTakes(g: ConvGeometry): boolean {
  return poolSparseDx && g.kw * g.ci <= 32 && g.co <= 64;
}

/**
 * Floats of scratch `poolBackwardGradients` needs for convolution `g` (per thread): one image's
 * conv-output gradient, and the sparse kernels' sums where they may run.
 */
export function poolBackwardScratch(g: ConvGeometry): number {
  // The sparse kernels' sums, whether their switches are on or not: they may change after a
  // step's buffers are laid out.
  return g.oh * g.ow * g.co + (g.kw * g.ci <= 32 ? g.co * g.kh * 32 : 0);
}

/**
 * Whether `poolBackwardGradients` takes the filter and input gradients (`needDx`) or the filter
 * gradient alone of convolution `g` (whose 2×2/2 max pooling ran fused, keeping its argmax):
 * stride 1, the direct filter gradient (the direct input gradient is the caller's to check),
 * output channels a multiple of 4 (the scattered gradient's kernels), or any number for the
 * filter gradient alone where {@link poolSparseFilterGradTakes} (nothing scattered), with
 * {@link setTrainPoolBackwardEnabled} on. LeNet-5's second conv (6 → 16, 5×5), and its first
 * (1 → 6) with the sparse filter gradient.
 */
export function poolBackwardTakes(g: ConvGeometry, needDx: boolean): boolean {
  if (!poolBackward || g.sh !== 1 || g.sw !== 1 || filterGradKernel(g) !== 'direct') return false;
  return g.co % 4 === 0 || (!needDx && poolSparseFilterGradTakes(g));
}

/**
 * The filter gradient and the padded input gradient of a stride-1 conv2d whose 2×2/2 max pooling
 * ran fused with it, from the pooled gradient `dy` [n, oh/2, ow/2, co] (the activation's gradient
 * applied) and the argmax bytes `arg`, image by image (`lenet_conv_backward_pool2_arg`): each
 * image's conv-output gradient only in a scratch the size of one image's. Bit for bit
 * {@link filterGradient} and the direct input gradient from the scattered gradient (the filter
 * gradient in its own order where {@link poolSparseFilterGradTakes}, the input gradient where
 * {@link poolSparseInputGradTakes}), split over
 * the helper threads by images as they split (the partial filter gradients added up). `wt`: the
 * filter rearranged by `lenet_input_grad_filter` (`l4` floats a row); `dxp` 0 when the input
 * gradient is not wanted; `scratch`: {@link poolBackwardScratch} floats. When {@link poolBackwardTakes}.
 */
export function poolBackwardGradients(
  simd: SimdKernels,
  g: ConvGeometry,
  io: { xp: number; dy: number; arg: number; wt: number; l4: number },
  out: { dw: number; dxp: number },
  scratch: number,
): void {
  const { n, ci, co, kh, kw, oh, ow, hp, wp } = g;
  const { l4 } = io;
  const pooled = (oh / 2) * (ow / 2) * co;
  const dx = out.dxp !== 0;
  const sparse = poolSparseFilterGradTakes(g);
  const sparseDx = dx && poolSparseInputGradTakes(g);
  runSplit(simd, {
    fn: 'lenet_conv_backward_pool2_arg',
    // The filter gradient's work, as filterGradient splits it (the same partial sums).
    macs: n * oh * ow * co * kh * kw * ci,
    items: n,
    perItem: [
      { ptr: io.xp, floats: hp * wp * ci },
      { ptr: io.dy, floats: pooled },
      // A byte a value: whole floats, as the argmax's forward pass keeps them (trainPoolFits).
      { ptr: io.arg, floats: pooled / 4 },
    ],
    whole: [{ ptr: io.wt, floats: dx ? kh * co * l4 : 0 }],
    out: { ptr: out.dw, floats: kh * kw * ci * co, sum: true },
    outs: dx ? [{ ptr: out.dxp, floats: hp * wp * ci }] : [],
    scratch: { ptr: scratch, floats: poolBackwardScratch(g) },
    args: (p, count) => [
      p.perItem[0],
      p.perItem[1],
      p.perItem[2],
      p.whole[0],
      p.out,
      dx ? p.outs[0] : 0,
      p.scratch,
      count,
      hp,
      wp,
      ci,
      oh,
      ow,
      co,
      kh,
      kw,
      l4,
      sparse ? 1 : 0,
      sparseDx ? 1 : 0,
      poolSparseRows ? 1 : 0,
    ],
  });
}

/** Conv2DBackpropFilter for the wasm backend, which ships none (tfjs-backend-wasm 4.22). */
export const conv2dBackpropFilterConfig: KernelConfig = {
  kernelName: Conv2DBackpropFilter,
  backendName: 'wasm',
  kernelFunc: conv2dBackpropFilterWasm,
};
