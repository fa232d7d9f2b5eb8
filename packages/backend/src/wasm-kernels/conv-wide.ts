import type { ConvGeometry } from './conv-util.js';
import type { SimdKernels } from './simd.js';
import { runSplit } from './split.js';

/** Output channels (block of the packed filter) one tile of lenet_conv_wide computes. */
const BLOCK = 16;

/**
 * Output pixels per chunk of the wide filter gradient. Measured (one thread, load 3–5, GFLOP/s
 * of the transposed tile at 64 / 128 / 256 pixels): keras 14×14×32→64 21.9 / 24.1 / 20.1,
 * 7×7×64→64 34.2 / 29.2 / 24.2, vgg 32×32×32→32 30.6 / 20.3 / 24.9, 8×8×128→128 38.4 / 26.4 / 21.5.
 */
const CHUNK = 64;

let wideEnabled = globalThis.process?.env?.LENET_WIDE_CONV !== '0';

/**
 * Turns the wide (over 16 channels) SIMD convolutions on or off; off gives XNNPACK's path back
 * for the forward pass and the input gradient there (for A/B measurements). Layers compiled
 * while off keep XNNPACK. The environment variable `LENET_WIDE_CONV=0` starts with them off.
 */
export function setWideConvEnabled(on: boolean): void {
  wideEnabled = on;
}

/** Whether {@link setWideConvEnabled} (or `LENET_WIDE_CONV`) leaves the wide convolutions on. */
export function wideConvEnabled(): boolean {
  return wideEnabled;
}

/** Floats of the packed filter for `outc` output channels and `rows` = kh·kw·(input channels). */
export function packedFloats(rows: number, outc: number): number {
  return Math.ceil(outc / BLOCK) * BLOCK * rows;
}

/**
 * Whether the wide forward kernel takes this convolution: every one over 16 output channels.
 * Measured per shape against XNNPACK (scripts/ab-conv-wide.mjs, one thread, batch 64 and 256,
 * every conv of the Keras family and vgg-cifar10; docs/performance.md, round 5): the wide kernel
 * took 0.55–0.97× XNNPACK's time on each of the 20 shape × batch cells (the first layers, 1 and 3
 * input channels, included), so there is no shape to leave to XNNPACK; the gather input
 * gradient 0.24–0.56× and the chunked filter gradient 0.12–0.86× of the previous paths.
 */
export function wideForwardTakes(g: ConvGeometry): boolean {
  return wideConvEnabled() && g.co > 16;
}

/** Whether the gather input gradient takes this convolution (stride 1, pads within the filter). */
export function wideInputGradTakes(g: ConvGeometry): boolean {
  return (
    wideConvEnabled() &&
    g.co > 16 &&
    g.sh === 1 &&
    g.sw === 1 &&
    g.top <= g.kh - 1 &&
    g.left <= g.kw - 1 &&
    g.h + g.top >= g.oh &&
    g.w + g.left >= g.ow
  );
}

/** The padded dy the gather input gradient reads: its rows, columns and where dy sits in it. */
export function dyPadding(g: ConvGeometry): { hp: number; wp: number; top: number; left: number } {
  return { hp: g.h + g.kh - 1, wp: g.w + g.kw - 1, top: g.kh - 1 - g.top, left: g.kw - 1 - g.left };
}

/**
 * The wide forward convolution on wasm-heap buffers (byte offsets): `xp` is the input padded as
 * `g` says (the input itself when `g.padded` is false), `wpk` scratch of
 * {@link packedFloats}(kh·kw·ci, co) floats for the packed filter; out [n, oh, ow, co]. Split over
 * the helper threads by images.
 */
export function wideForward(
  simd: SimdKernels,
  g: ConvGeometry,
  xp: number,
  filter: number,
  out: number,
  wpk: number,
): void {
  const { n, ci, co, kh, kw, oh, ow, sh, sw, hp, wp } = g;
  simd.fn.lenet_pack_wide(filter, wpk, kh, kw, ci, co, 0);
  runSplit(simd, {
    fn: 'lenet_conv_wide',
    macs: n * oh * ow * co * kh * kw * ci,
    items: n,
    perItem: [{ ptr: xp, floats: hp * wp * ci }],
    whole: [{ ptr: wpk, floats: packedFloats(kh * kw * ci, co) }],
    out: { ptr: out, floats: oh * ow * co },
    args: (p, count) => [p.perItem[0], p.whole[0], p.out, count, hp, wp, ci, oh, ow, co, kh, kw, sh, sw],
  });
}

/**
 * The input gradient as a gather (when {@link wideInputGradTakes}): dx [n, h, w, ci] = the wide
 * convolution of dy [n, oh, ow, co], zero-padded into `dyp` ({@link dyPadding}: n·hp·wp·co
 * floats), by the filter rotated 180° with its channels swapped, packed into `wpk`
 * ({@link packedFloats}(kh·kw·co, ci) floats).
 */
export function wideInputGradient(
  simd: SimdKernels,
  g: ConvGeometry,
  dy: number,
  filter: number,
  dx: number,
  scratch: { dyp: number; wpk: number },
): void {
  const { n, h, w, ci, co, kh, kw, oh, ow } = g;
  const pad = dyPadding(g);
  const f = simd.fn;
  f.lenet_pad_nhwc(dy, scratch.dyp, n, oh, ow, co, pad.hp, pad.wp, pad.top, pad.left);
  f.lenet_pack_wide(filter, scratch.wpk, kh, kw, ci, co, 1);
  runSplit(simd, {
    fn: 'lenet_conv_wide',
    macs: n * oh * ow * co * kh * kw * ci,
    items: n,
    perItem: [{ ptr: scratch.dyp, floats: pad.hp * pad.wp * co }],
    whole: [{ ptr: scratch.wpk, floats: packedFloats(kh * kw * co, ci) }],
    out: { ptr: dx, floats: h * w * ci },
    args: (p, count) => [p.perItem[0], p.whole[0], p.out, count, pad.hp, pad.wp, co, h, w, ci, kh, kw, 1, 1],
  });
}

/** Whether the wide filter gradient takes this convolution (over 16 channels, a multiple of 16). */
export function wideFilterGradTakes(g: ConvGeometry): boolean {
  return wideConvEnabled() && g.co > 16 && g.co % BLOCK === 0;
}

/** Floats of scratch {@link wideFilterGradient} needs (the transposed gradient), or 0. */
export function wideFilterGradScratch(g: ConvGeometry): number {
  return g.ci % BLOCK === 0 ? g.kh * g.kw * g.ci * g.co : 0;
}

/**
 * The filter gradient in pixel chunks (when {@link wideFilterGradTakes}): dW [kh, kw, ci, co] from
 * the padded input `xp` [n, hp, wp, ci] and dy [n, oh, ow, co], split over the helper threads
 * (each sums its images; the partial gradients are added up). `dwt`: {@link wideFilterGradScratch}
 * floats (the transposed gradient, when ci is a multiple of 16), else 0.
 */
export function wideFilterGradient(
  simd: SimdKernels,
  g: ConvGeometry,
  xp: number,
  dy: number,
  out: number,
  dwt: number,
): void {
  const { n, ci, co, kh, kw, oh, ow, sh, sw, hp, wp } = g;
  const rows = kh * kw * ci;
  const transposed = ci % BLOCK === 0;
  runSplit(simd, {
    fn: 'lenet_conv_filter_grad_wide',
    macs: n * oh * ow * co * rows,
    items: n,
    perItem: [
      { ptr: xp, floats: hp * wp * ci },
      { ptr: dy, floats: oh * ow * co },
    ],
    whole: [],
    out: { ptr: transposed ? dwt : out, floats: rows * co, sum: true },
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
      co,
      kh,
      kw,
      sh,
      sw,
      CHUNK,
      transposed ? 1 : 0,
    ],
  });
  if (transposed) simd.fn.lenet_transpose(dwt, out, co, rows, co);
}
