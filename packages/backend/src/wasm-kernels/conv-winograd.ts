import type { ConvGeometry } from './conv-util.js';
import { dyPadding } from './conv-wide.js';
import type { SimdKernels } from './simd.js';
import { runSplit } from './split.js';

/** Output channels per block of the transformed filter (the GEMM's register tile is 16 wide). */
const BLOCK = 16;

/** Floats of the products of two tiles the kernel keeps in its scratch (16 ξ × 2 tiles × 16). */
const PRODUCT_FLOATS = 512;

/**
 * Tiles one band of the kernel transforms before its GEMMs: enough tile pairs to reuse each
 * transformed filter block over, few enough that the band (16·ci floats a tile) stays in the
 * core's caches.
 */
const BAND_TILES = 16;

let enabled = globalThis.process?.env?.LENET_WINOGRAD !== '0';

/**
 * Turns the Winograd convolutions on or off (off gives the wide direct kernels back, for A/B
 * measurements). Layers compiled while off keep the direct kernels. The environment variable
 * `LENET_WINOGRAD=0` starts with them off.
 */
export function setWinogradEnabled(on: boolean): void {
  enabled = on;
}

/** Whether {@link setWinogradEnabled} (or `LENET_WINOGRAD`) leaves the Winograd convolutions on. */
export function winogradEnabled(): boolean {
  return enabled;
}

/**
 * Whether the 2×2 tiles of an oh × ow output save at least 1.5× the direct convolution's
 * multiplies (9 per pixel against 16 per tile, tiles past an odd edge included): 7×7 saves
 * 1.72× and ran 0.83× the wide kernel's time; 3×3 saves 1.27× and ran 1.06× (one thread, batch
 * 64, scripts/ab-winograd.mjs).
 */
function tilesPay(oh: number, ow: number): boolean {
  return 9 * oh * ow >= 1.5 * 16 * Math.ceil(oh / 2) * Math.ceil(ow / 2);
}

/**
 * Whether Winograd F(2×2, 3×3) takes this forward convolution: 3×3, stride 1, at least 16 input
 * channels (below that the transforms cost more than the products save), over 16 output
 * channels (where the wide direct kernel would run otherwise) and an output big enough for its
 * tiles to pay.
 */
export function winogradForwardTakes(g: ConvGeometry): boolean {
  return (
    enabled &&
    g.kh === 3 &&
    g.kw === 3 &&
    g.sh === 1 &&
    g.sw === 1 &&
    g.ci >= 16 &&
    g.co > 16 &&
    tilesPay(g.oh, g.ow)
  );
}

/** Floats of the transformed filter for `inc` input and `outc` output channels. */
export function winogradFilterFloats(inc: number, outc: number): number {
  return Math.ceil(outc / BLOCK) * BLOCK * 16 * inc;
}

/** Tile rows per band for an output `ow` wide (at most the tile rows there are). */
function bandRows(oh: number, ow: number): number {
  const tw = Math.ceil(ow / 2);
  return Math.min(Math.ceil(oh / 2), Math.max(1, Math.floor(BAND_TILES / tw)));
}

/** Floats of scratch one thread of the kernel needs for an output oh × ow from `inc` channels. */
function scratchFloats(oh: number, ow: number, inc: number): number {
  return bandRows(oh, ow) * Math.ceil(ow / 2) * 16 * inc + PRODUCT_FLOATS;
}

/** Floats of scratch {@link winogradForward} needs (per thread). */
export function winogradForwardScratch(g: ConvGeometry): number {
  return scratchFloats(g.oh, g.ow, g.ci);
}

/**
 * The kernel on wasm-heap buffers: `xp` [n, hp, wp, inc] (padded so every tile's window but the
 * rows and columns past an odd output lies inside), the transformed filter `u`, out
 * [n, oh, ow, outc]; split over the helper threads by images, each with its own scratch.
 */
function run(
  simd: SimdKernels,
  d: { n: number; hp: number; wp: number; inc: number; oh: number; ow: number; outc: number },
  xp: number,
  u: number,
  out: number,
  scratch: number,
): void {
  const { n, hp, wp, inc, oh, ow, outc } = d;
  const band = bandRows(oh, ow);
  runSplit(simd, {
    fn: 'lenet_conv_winograd',
    // Multiply-adds of the direct convolution this replaces, so the split rule stays the same.
    macs: n * oh * ow * outc * 9 * inc,
    items: n,
    perItem: [{ ptr: xp, floats: hp * wp * inc }],
    whole: [{ ptr: u, floats: winogradFilterFloats(inc, outc) }],
    out: { ptr: out, floats: oh * ow * outc },
    scratch: { ptr: scratch, floats: scratchFloats(oh, ow, inc) },
    args: (p, count) => [p.perItem[0], p.whole[0], p.out, count, hp, wp, inc, oh, ow, outc, band, p.scratch],
  });
}

/**
 * The Winograd forward convolution (when {@link winogradForwardTakes}) on wasm-heap buffers:
 * `xp` the input padded as `g` says (the input itself when `g.padded` is false), out
 * [n, oh, ow, co]. Scratch: `u` ({@link winogradFilterFloats}(ci, co) floats, the transformed
 * filter) and `work` ({@link winogradForwardScratch} floats).
 */
export function winogradForward(
  simd: SimdKernels,
  g: ConvGeometry,
  xp: number,
  filter: number,
  out: number,
  scratch: { u: number; work: number },
): void {
  const { n, ci, co, oh, ow, hp, wp } = g;
  simd.fn.lenet_wino_filter(filter, scratch.u, ci, co, 0);
  run(simd, { n, hp, wp, inc: ci, oh, ow, outc: co }, xp, scratch.u, out, scratch.work);
}

/**
 * Whether the Winograd input gradient takes this convolution: dx is the stride-1 'full'
 * convolution of dy padded by {@link dyPadding} with the filter rotated and its channels
 * swapped, so the forward conditions with the channels swapped, plus the gather's padding rule.
 */
export function winogradInputGradTakes(g: ConvGeometry): boolean {
  return (
    enabled &&
    g.kh === 3 &&
    g.kw === 3 &&
    g.sh === 1 &&
    g.sw === 1 &&
    g.co >= 16 &&
    g.ci > 16 &&
    g.top <= 2 &&
    g.left <= 2 &&
    g.h + g.top >= g.oh &&
    g.w + g.left >= g.ow &&
    tilesPay(g.h, g.w)
  );
}

/** Floats of scratch {@link winogradInputGradient} needs besides the padded dy (per thread). */
export function winogradInputGradScratch(g: ConvGeometry): number {
  return scratchFloats(g.h, g.w, g.co);
}

/**
 * The input gradient by Winograd (when {@link winogradInputGradTakes}): dx [n, h, w, ci] from dy
 * [n, oh, ow, co] zero-padded into `dyp` ({@link dyPadding}: n·hp·wp·co floats). Scratch: `u`
 * ({@link winogradFilterFloats}(co, ci) floats) and `work` ({@link winogradInputGradScratch}).
 */
export function winogradInputGradient(
  simd: SimdKernels,
  g: ConvGeometry,
  dy: number,
  filter: number,
  dx: number,
  scratch: { dyp: number; u: number; work: number },
): void {
  const { n, h, w, ci, co, oh, ow } = g;
  const pad = dyPadding(g);
  simd.fn.lenet_pad_nhwc(dy, scratch.dyp, n, oh, ow, co, pad.hp, pad.wp, pad.top, pad.left);
  simd.fn.lenet_wino_filter(filter, scratch.u, ci, co, 1);
  run(
    simd,
    { n, hp: pad.hp, wp: pad.wp, inc: co, oh: h, ow: w, outc: ci },
    scratch.dyp,
    scratch.u,
    dx,
    scratch.work,
  );
}
