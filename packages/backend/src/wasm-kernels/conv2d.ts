import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { Conv2D, type KernelFunc, type TensorInfo } from '../tfjs.js';
import type { KernelArgs } from './conv-util.js';
import { type ConvAttrs, type ConvGeometry, convGeometry, convInfo, shape4 } from './conv-util.js';
import { replacingKernel } from './kernel-config.js';
import { roundUp4, type SimdKernels, simdKernels } from './simd.js';
import { runSplit } from './split.js';

const NAME = 'Conv2D';

/** Output channels up to which the direct SIMD kernel beats XNNPACK here (measured: see docs/performance.md). */
export const DIRECT_CONV_MAX_OUT_CHANNELS = 16;

/**
 * Conv2D for wasm: a direct SIMD convolution (csrc/lenet-kernels.c) for LeNet-sized layers —
 * up to {@link DIRECT_CONV_MAX_OUT_CHANNELS} output channels, no dilation — where XNNPACK, which
 * tfjs-backend-wasm uses, is slow (one input channel) and repacks the filter on every call
 * because training changes it each step. Other convolutions go to `stock` (XNNPACK).
 */
export function makeConv2dWasm(stock: KernelFunc | undefined): KernelFunc {
  return (args: KernelArgs): TensorInfo => {
    const backend = args.backend as BackendWasm;
    const { x, filter } = args.inputs as { x: TensorInfo; filter: TensorInfo };
    const attrs = (args.attrs ?? {}) as unknown as ConvAttrs & { dilations?: [number, number] | number };
    const info = convInfo(shape4(x, NAME, 'x'), shape4(filter, NAME, 'filter'), attrs, attrs.dilations ?? 1);
    const simd =
      info.dataFormat === 'channelsLast' &&
      info.dilationHeight === 1 &&
      info.dilationWidth === 1 &&
      info.outChannels <= DIRECT_CONV_MAX_OUT_CHANNELS &&
      x.dtype === 'float32' &&
      filter.dtype === 'float32'
        ? simdKernels(backend)
        : undefined;
    if (simd === undefined) {
      if (stock === undefined) throw new Error(`${NAME}: no stock wasm kernel for this case`);
      return stock(args) as TensorInfo;
    }
    const g = convGeometry(info);
    const out = backend.makeOutput(info.outShape, 'float32');
    if (g.n * g.oh * g.ow * g.co === 0) return out;
    const co4 = roundUp4(g.co);
    simd.withScratch(
      [g.padded ? g.n * g.hp * g.wp * g.ci : 0, co4 !== g.co ? g.kh * g.kw * g.ci * co4 : 0],
      ([xp, w4]) => {
        convForward(simd, g, simd.ptr(x), simd.ptr(filter), simd.ptr(out), { xp, w4 });
      },
    );
    return out;
  };
}

/**
 * The direct convolution on wasm-heap buffers (byte offsets): x [n, h, w, ci] → out [n, oh, ow, co]
 * with filter [kh, kw, ci, co], split over the helper threads. Scratch: `xp` (n·hp·wp·ci floats,
 * when the geometry pads; it holds the padded input afterwards) and `w4` (kh·kw·ci·co4 floats,
 * when co is not a multiple of 4); 0 where not needed. The registered Conv2D and the compiled
 * training step both run this.
 */
export function convForward(
  simd: SimdKernels,
  g: ConvGeometry,
  x: number,
  filter: number,
  out: number,
  scratch: { xp: number; w4: number },
): void {
  const { n, h, w, ci, co, kh, kw, oh, ow, sh, sw, top, left, hp, wp, padded } = g;
  const f = simd.fn;
  const co4 = roundUp4(co);
  const rows = kh * kw * ci;
  const xp = padded ? scratch.xp : x;
  if (padded) f.lenet_pad_nhwc(x, xp, n, h, w, ci, hp, wp, top, left);
  const wk = co4 !== co ? scratch.w4 : filter;
  if (co4 !== co) f.lenet_copy_rows(filter, co, wk, co4, rows, co, rows * co4);
  runSplit(simd, {
    fn: 'lenet_conv_forward',
    macs: n * oh * ow * co * rows,
    items: n,
    perItem: [{ ptr: xp, floats: hp * wp * ci }],
    whole: [{ ptr: wk, floats: rows * co4 }],
    out: { ptr: out, floats: oh * ow * co },
    args: (p, count) => [p.perItem[0], p.whole[0], p.out, count, hp, wp, ci, oh, ow, co, co4, kh, kw, sh, sw],
  });
}

/** Conv2D for wasm; `stock` (XNNPACK) is kept for the other cases, with its setup. */
export const conv2dConfig = replacingKernel(Conv2D, makeConv2dWasm);
