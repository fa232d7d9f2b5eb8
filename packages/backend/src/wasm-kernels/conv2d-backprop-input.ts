import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { BackendError } from '../errors.js';
import {
  type backend_util,
  Conv2DBackpropInput,
  type KernelBackend,
  type KernelFunc,
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
import { dyPadding, packedFloats, wideInputGradient, wideInputGradTakes } from './conv-wide.js';
import {
  winogradFilterFloats,
  winogradInputGradient,
  winogradInputGradPadFreeEnabled,
  winogradInputGradScratch,
  winogradInputGradTakes,
} from './conv-winograd.js';
import { replacingKernel } from './kernel-config.js';
import { withKernelScope } from './kernel-scope.js';
import { roundUp4, type SimdKernels, simdKernels } from './simd.js';
import { runSplit } from './split.js';

const NAME = 'Conv2DBackpropInput';

/**
 * Output channels (of the forward conv) up to which the input gradient runs the direct SIMD
 * gather rather than XNNPACK's convolution on a rotated filter. The gather beat it 3× on
 * torch-bn's 12→24 conv ([64,3,3,24] → [64,5,5,12]: 0.34 vs 1.05 ms, one thread) and 2.3× on a
 * 32→64 one (8.7 vs 19.6 ms); wider layers are left to the kernels written for them.
 */
export const DIRECT_INPUT_GRAD_MAX_OUT_CHANNELS = 24;

/**
 * Which kernel computes the input gradient of convolution `g`: the direct gather up to
 * {@link DIRECT_INPUT_GRAD_MAX_OUT_CHANNELS} output channels, the wide gather (conv-wide.ts) above
 * where it takes the geometry — as Winograd (conv-winograd.ts) where that takes it too — else
 * XNNPACK's convolution. The registered kernel and the compiled training step both choose here.
 */
export function inputGradKernel(g: ConvGeometry): 'direct' | 'winograd' | 'wide' | 'xnnpack' {
  if (g.co <= DIRECT_INPUT_GRAD_MAX_OUT_CHANNELS) return 'direct';
  if (!wideInputGradTakes(g)) return 'xnnpack';
  return winogradInputGradTakes(g) ? 'winograd' : 'wide';
}

interface BackpropInputAttrs extends ConvAttrs {
  inputShape: [number, number, number, number];
}

/**
 * dx = a forward convolution of dy (zeros inserted between its pixels when the forward stride
 * is > 1) with the filter rotated 180° and its in/out channels swapped, padded by
 * KH−1−padTop above and whatever makes the result exactly H rows below. Runs on wasm's fast
 * Conv2D instead of the stock direct loop.
 *
 * Falls back to `stock` (the kernel tfjs-backend-wasm ships) for NCHW data and for explicit
 * pads larger than the filter, which this rewrite does not cover.
 */
export function makeConv2dBackpropInputWasm(stock: KernelFunc | undefined): KernelFunc {
  return (args: KernelArgs): TensorInfo => {
    const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo };
    const attrs = (args.attrs ?? {}) as unknown as BackpropInputAttrs;
    const filterShape = shape4(filter, NAME, 'filter');
    const [n] = shape4(dy, NAME, 'dy');
    const info = convInfo(attrs.inputShape, filterShape, attrs);
    const { filterHeight: kh, filterWidth: kw, inHeight: h, inWidth: w, outHeight: oh, outWidth: ow } = info;
    const { strideHeight: sh, strideWidth: sw, outChannels: co } = info;
    if (info.dataFormat === 'channelsLast' && inputGradKernel(convGeometry(info)) !== 'xnnpack') {
      const simd = simdKernels(args.backend as BackendWasm);
      if (simd !== undefined) return inputGradSimd(simd, args.backend as BackendWasm, dy, filter, info);
    }
    const top = kh - 1 - info.padInfo.top;
    const left = kw - 1 - info.padInfo.left;
    if (info.dataFormat !== 'channelsLast' || top < 0 || left < 0) {
      if (stock === undefined) {
        throw new BackendError(
          `${NAME}: NCHW data or pads larger than the filter need the stock wasm kernel, which is not registered`,
          'wasm',
        );
      }
      return stock(args) as TensorInfo;
    }

    return withKernelScope(args.backend as KernelBackend, 'wasm', (k) => {
      // dy with (stride − 1) zeros after every pixel: [N, OH·sh, OW·sw, CO].
      let image = dy;
      let rows = oh;
      let cols = ow;
      if (sh > 1 || sw > 1) {
        const spread = k.run('Reshape', { x: dy }, { shape: [n, oh, 1, ow, 1, co] });
        const padded = k.run(
          'PadV2',
          { x: spread },
          {
            paddings: [
              [0, 0],
              [0, 0],
              [0, sh - 1],
              [0, 0],
              [0, sw - 1],
              [0, 0],
            ],
            constantValue: 0,
          },
        );
        rows = oh * sh;
        cols = ow * sw;
        image = k.run('Reshape', { x: padded }, { shape: [n, rows, cols, co] });
      }
      let bottom = h + kh - 1 - top - rows;
      let right = w + kw - 1 - left - cols;
      if (bottom < 0 || right < 0) {
        rows += Math.min(bottom, 0);
        cols += Math.min(right, 0);
        image = k.run('Slice', { x: image }, { begin: [0, 0, 0, 0], size: [n, rows, cols, co] });
        bottom = Math.max(bottom, 0);
        right = Math.max(right, 0);
      }
      const flipped = k.run('Reverse', { x: filter }, { dims: [0, 1] });
      const rotated = k.run('Transpose', { x: flipped }, { perm: [0, 1, 3, 2] });
      return k.run(
        'Conv2D',
        { x: image, filter: rotated },
        conv2dAttrs(explicitPad(top, bottom, left, right)),
      );
    });
  };
}

/**
 * The same gradient as one direct SIMD gather pass (csrc/lenet-kernels.c), written into a
 * zero-padded buffer that is then cropped (straight into the output when the conv did not pad).
 * Where {@link inputGradKernel} says 'wide' or 'winograd', the wide convolution of dy by the
 * rotated filter (conv-wide.ts) or its Winograd form (conv-winograd.ts).
 */
function inputGradSimd(
  simd: SimdKernels,
  backend: BackendWasm,
  dy: TensorInfo,
  filter: TensorInfo,
  info: backend_util.Conv2DInfo,
): TensorInfo {
  const g = convGeometry(info);
  const { n, h, w, ci, co, kh, kw, hp, wp, padded } = g;
  const out = backend.makeOutput([n, h, w, ci], 'float32');
  if (n * h * w * ci === 0) return out;
  const kernel = inputGradKernel(g);
  if (kernel === 'winograd') {
    const pad = dyPadding(g);
    const padFree = winogradInputGradPadFreeEnabled();
    const dyFloats = padFree ? 0 : n * pad.hp * pad.wp * co;
    const sizes = [dyFloats, winogradFilterFloats(co, ci, g.h, g.w), winogradInputGradScratch(g)];
    simd.withScratch(sizes, ([dyp, u, work]) => {
      const scratch = { dyp: padFree ? 0 : dyp, u, work };
      winogradInputGradient(simd, g, simd.ptr(dy), simd.ptr(filter), simd.ptr(out), scratch);
    });
    return out;
  }
  if (kernel === 'wide') {
    const pad = dyPadding(g);
    simd.withScratch([n * pad.hp * pad.wp * co, packedFloats(kh * kw * co, ci)], ([dyp, wpk]) => {
      wideInputGradient(simd, g, simd.ptr(dy), simd.ptr(filter), simd.ptr(out), { dyp, wpk });
    });
    return out;
  }
  simd.withScratch([kh * co * roundUp4(kw * ci), padded ? n * hp * wp * ci : 0], ([wt, dxp]) => {
    inputGradient(simd, g, simd.ptr(dy), simd.ptr(filter), simd.ptr(out), { wt, dxp });
  });
  return out;
}

/**
 * The input gradient on wasm-heap buffers (byte offsets): dx [n, h, w, ci] from dy [n, oh, ow, co]
 * and the filter [kh, kw, ci, co], split over the helper threads. Scratch: `wt`
 * (kh·co·roundUp4(kw·ci) floats, the rearranged filter) and `dxp` (n·hp·wp·ci floats when the
 * geometry pads, else 0). The registered Conv2DBackpropInput and the compiled training step both
 * run this.
 */
export function inputGradient(
  simd: SimdKernels,
  g: ConvGeometry,
  dy: number,
  filter: number,
  out: number,
  scratch: { wt: number; dxp: number },
): void {
  const { n, h, w, ci, co, kh, kw, oh, ow, sh, sw, top, left, hp, wp, padded } = g;
  const l4 = roundUp4(kw * ci);
  const f = simd.fn;
  f.lenet_input_grad_filter(filter, scratch.wt, kh, kw, ci, co, l4);
  const dxp = padded ? scratch.dxp : out;
  runSplit(simd, {
    fn: 'lenet_conv_input_grad',
    macs: n * oh * ow * co * kh * kw * ci,
    items: n,
    perItem: [{ ptr: dy, floats: oh * ow * co }],
    whole: [{ ptr: scratch.wt, floats: kh * co * l4 }],
    out: { ptr: dxp, floats: hp * wp * ci },
    args: (p, count) => [p.perItem[0], p.whole[0], p.out, count, oh, ow, co, hp, wp, ci, kh, kw, sh, sw, l4],
  });
  if (padded) f.lenet_crop_nhwc(dxp, out, n, h, w, ci, hp, wp, top, left);
}

/** Conv2DBackpropInput for wasm built on wasm's Conv2D; `stock` is the kernel it replaces. */
export const conv2dBackpropInputConfig = replacingKernel(Conv2DBackpropInput, makeConv2dBackpropInputWasm);
