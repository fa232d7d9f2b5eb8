import type { ConvGeometry } from './conv-util.js';
import { dyPadding } from './conv-wide.js';
import type { SimdKernels } from './simd.js';
import { runSplit } from './split.js';

/** Output channels per block of the transformed filter (the GEMM's register tile is 16 wide). */
const BLOCK = 16;

/** Output tile sides the kernels have: F(2×2, 3×3) and F(4×4, 3×3). */
type Tile = 2 | 4;

/** Transformed points per tile ((m + 2)² for an m × m output tile). */
const points = (m: Tile) => (m + 2) * (m + 2);

/**
 * Tiles one band of the kernel transforms before its GEMMs: enough tile pairs to reuse each
 * transformed filter block over, few enough that the band (16·ci floats a tile) stays in the
 * core's caches.
 */
const BAND_TILES = 16;

const env = globalThis.process?.env?.LENET_WINOGRAD;
let enabled = env !== '0';
/** The tile side every layer uses, when set (for A/B measurements); else each layer's best. */
let forced: Tile | undefined = env === '2' || env === '4' ? (Number(env) as Tile) : undefined;
/** Whether the inference pass runs a layer's bias, relu and pooling inside the F(4×4) forward kernel. */
let epilogueEnabled = globalThis.process?.env?.LENET_WINOGRAD_EPILOGUE !== '0';
/** Whether the filter gradient runs as Winograd too (where the convolutions are on). */
let filterGradEnabled = globalThis.process?.env?.LENET_WINOGRAD_DW !== '0';

/**
 * Turns the Winograd convolutions on or off (off gives the wide direct kernels back, for A/B
 * measurements); `tile` forces the F(2×2, 3×3) or F(4×4, 3×3) kernel on every layer it takes;
 * `filterGradient` false leaves the filter gradient alone on the wide kernel. Layers compiled
 * while off keep the direct kernels. The environment variable `LENET_WINOGRAD` starts with them
 * off (`0`) or forced to a tile (`2`, `4`), `LENET_WINOGRAD_DW=0` with the filter gradient off.
 */
export function setWinogradEnabled(on: boolean, tile?: 2 | 4, filterGradient = true): void {
  enabled = on;
  forced = tile;
  filterGradEnabled = filterGradient;
}

/**
 * Turns on or off the epilogue of the Winograd forward kernel in the compiled inference pass:
 * the layer's bias add, relu and a 2×2/2 pooling after it computed on each output tile as it
 * leaves the kernel, instead of in passes over the whole output after it (for A/B measurements).
 * Layers compiled while off keep the separate passes. `LENET_WINOGRAD_EPILOGUE=0` starts with it off.
 */
export function setWinogradEpilogueEnabled(on: boolean): void {
  epilogueEnabled = on;
}

let padFree = globalThis.process?.env?.LENET_WINOGRAD_PAD_FREE !== '0';

/**
 * Turns on or off (for A/B measurements) the compiled inference pass's Winograd forward reading
 * its input unpadded, the padding's zeros supplied by the kernel's tile loads instead of a padded
 * copy of the input made before it. Layers compiled while off keep the copy.
 * `LENET_WINOGRAD_PAD_FREE=0` starts with it off.
 */
export function setWinogradPadFreeEnabled(on: boolean): void {
  padFree = on;
}

let dxPadFree = globalThis.process?.env?.LENET_WINOGRAD_DX_PAD_FREE !== '0';

/**
 * Turns on or off (for A/B measurements) the Winograd input gradient (the registered
 * Conv2DBackpropInput and the compiled training step) reading dy unpadded, the zeros around it
 * supplied by the kernel's tile loads instead of a padded copy of dy made before it (the same
 * sums, bit for bit). Compiled layers read it when compiled: those compiled while off keep the copy.
 * `LENET_WINOGRAD_DX_PAD_FREE=0` starts with it off.
 */
export function setWinogradInputGradPadFreeEnabled(on: boolean): void {
  dxPadFree = on;
}

let trainPadFree = globalThis.process?.env?.LENET_WINOGRAD_TRAIN_PAD_FREE !== '0';

/**
 * Turns on or off (for A/B measurements) the compiled training step's Winograd forward pass and
 * filter gradient reading the layer's input unpadded (no padded copy made in the forward pass),
 * the padding's zeros supplied by the kernels' tile loads: bit for bit the padded copy's.
 * Layers compiled while off keep the copy. `LENET_WINOGRAD_TRAIN_PAD_FREE=0` starts with it off.
 */
export function setWinogradTrainPadFreeEnabled(on: boolean): void {
  trainPadFree = on;
}

/** Whether {@link setWinogradTrainPadFreeEnabled} (or `LENET_WINOGRAD_TRAIN_PAD_FREE`) leaves it on. */
export function winogradTrainPadFreeEnabled(): boolean {
  return trainPadFree;
}

/** Whether {@link setWinogradInputGradPadFreeEnabled} (or `LENET_WINOGRAD_DX_PAD_FREE`) leaves it on. */
export function winogradInputGradPadFreeEnabled(): boolean {
  return dxPadFree;
}

/** Whether {@link setWinogradPadFreeEnabled} (or `LENET_WINOGRAD_PAD_FREE`) leaves it on. */
export function winogradPadFreeEnabled(): boolean {
  return padFree;
}

let interior = globalThis.process?.env?.LENET_WINOGRAD_INTERIOR !== '0';

/**
 * Turns on or off (for A/B measurements) the forward kernel (inference, the training step's
 * forward pass and the input gradient) transforming the F(4×4) tiles that lie inside the input
 * and the output with copies of its transforms that load and store without bound checks (the
 * same sums, bit for bit). Read at each call. `LENET_WINOGRAD_INTERIOR=0` starts with it off.
 */
export function setWinogradInteriorEnabled(on: boolean): void {
  interior = on;
}

let residentFilter = globalThis.process?.env?.LENET_WINOGRAD_RESIDENT !== '0';

/**
 * Turns on or off (for A/B measurements) the compiled inference pass keeping its Winograd filter
 * transforms in the helper threads' memory from call to call, as it keeps the dense panels (off:
 * each split call copies the transformed filter in again: 1.1 M floats a call on vgg-cifar10).
 * Read at each call. `LENET_WINOGRAD_RESIDENT=0` starts with it off.
 */
export function setWinogradResidentEnabled(on: boolean): void {
  residentFilter = on;
}

const mixedEnv = globalThis.process?.env?.LENET_WINOGRAD_MIXED;
let mixedTiles = mixedEnv !== '0';
let mixedEverywhere = mixedEnv === 'all';

/**
 * Turns on or off (for A/B measurements) the mixed tiles of the Winograd input gradient (and,
 * with `everywhere`, of the forward pass): an output side that is not a multiple of 4
 * (14, 7, 3) covered exactly by F(4×4) tiles inside and F(4×2), F(2×2), F(3×3)… tiles along its
 * bottom and right edges, rather than by F(4×4) tiles whose outputs past the edge are thrown away
 * (on 14 × 14, 16% fewer products; 7 × 7, 16%; 3 × 3, 31%). Different sums (the edge tiles
 * round differently), within the Winograd tolerance. Read at each call. By default on outputs
 * under 4 on a side (keras-deep's 3 × 3: one 3×3 tile, its images' tiles paired up for the
 * products, where F(4×4) ran one lone tile per image) and where whole 4×4 tiles are at least half
 * the tiles (14 × 14: 9 of 16); `everywhere` on every output with edges (on 7 × 7, one whole tile
 * of four, the saving was measured eaten by the filter transforms of four shapes, 121 points
 * against 36, made on the main thread and copied to the helper threads). The forward pass takes
 * them only with `everywhere`, for A/B runs: the compiled inference pass runs its Winograd convs
 * with epilogues that the mixed kernel lacks, `predict` through TensorFlow.js (the registered
 * Conv2D) must equal it bit for bit, and the compiled training step's forward pass must equal that
 * registered Conv2D (autodiff's) — so all three keep the F(4×4) tiles until the inference pass has
 * mixed tiles with its epilogues.
 * `LENET_WINOGRAD_MIXED=0` starts with it off, `all` everywhere.
 */
export function setWinogradMixedEnabled(on: boolean, everywhere = false): void {
  mixedTiles = on;
  mixedEverywhere = everywhere;
}

/** Whether the Winograd forward pass of training and of the registered Conv2D takes the mixed tiles (see `setWinogradMixedEnabled`). */
export function winogradMixedForwardEnabled(): boolean {
  return mixedTiles && mixedEverywhere;
}

/**
 * The sides of the edge tiles of an oh × ow output (rows `er`, columns `ec` past its last whole
 * 4, 0 for none), when it has some and neither is 1 (an F(1) tile would save nothing); else null.
 */
function edgesOf(oh: number, ow: number): { er: number; ec: number } | null {
  const er = oh % 4;
  const ec = ow % 4;
  return er === 1 || ec === 1 || (er === 0 && ec === 0) ? null : { er, ec };
}

/**
 * Transformed points of the mixed tiles' shapes on an oh × ow output, those it has tiles of
 * (0: it has no edges), as lenet_wino_filter_mixed lays them out.
 */
function mixedPoints(oh: number, ow: number): number {
  const e = edgesOf(oh, ow);
  if (e === null) return 0;
  const rows = [...(oh >= 4 ? [4] : []), ...(e.er > 0 ? [e.er] : [])];
  const cols = [...(ow >= 4 ? [4] : []), ...(e.ec > 0 ? [e.ec] : [])];
  return rows.reduce((sum, r) => sum + cols.reduce((t, c) => t + (r + 2) * (c + 2), 0), 0);
}

/** The edges the mixed tiles run with on an oh × ow output now, or null for the plain F(4×4) tiles. */
function mixedEdges(oh: number, ow: number): { er: number; ec: number } | null {
  const whole = Math.floor(oh / 4) * Math.floor(ow / 4);
  const pays = mixedEverywhere || oh < 4 || ow < 4 || 2 * whole >= Math.ceil(oh / 4) * Math.ceil(ow / 4);
  return mixedTiles && pays && tileOf(oh, ow) === 4 ? edgesOf(oh, ow) : null;
}

/** What the forward kernel runs on each output tile after the convolution (see {@link winogradEpilogueTakes}). */
export interface WinogradEpilogue {
  /** The bias's data (co floats), or 0 for none. */
  bias: number;
  act: 'linear' | 'relu';
  /** A 2×2/2 pooling without padding after the activation (the output is then ⌊oh/2⌋ × ⌊ow/2⌋), or null. */
  pool: 'max' | 'avg' | null;
}

/**
 * Whether the forward kernel can run an epilogue with activation `act` (and a pooling when
 * `pool`) on `g`: with {@link setWinogradEpilogueEnabled} on, a relu or none, and an output of
 * at least 2 × 2 when it pools. Either tile has it (a 2×2 tile is one pooling window; 4×4 tiles
 * start on even rows and columns too), so a tile forced later keeps it.
 */
export function winogradEpilogueTakes(g: ConvGeometry, act: string, pool: boolean): boolean {
  return (
    epilogueEnabled &&
    winogradForwardTakes(g) &&
    (act === 'relu' || act === 'linear') &&
    (!pool || (g.oh >= 2 && g.ow >= 2))
  );
}

/** Whether {@link setWinogradEnabled} (or `LENET_WINOGRAD`) leaves the Winograd convolutions on. */
export function winogradEnabled(): boolean {
  return enabled;
}

/** How many times fewer multiplies m × m tiles do than the direct convolution on an oh × ow output. */
function saving(m: Tile, oh: number, ow: number): number {
  return (9 * oh * ow) / (points(m) * Math.ceil(oh / m) * Math.ceil(ow / m));
}

/**
 * The tile side for an oh × ow output: the one that saves the most multiplies (tiles past an
 * odd edge included), if it saves at least 1.5×. Measured one thread, batch 64 and 256, load
 * ~2 (`AB=winograd scripts/ab-conv-wide.mjs`), time ÷ the wide direct kernel's: F(4×4) 0.33–0.50
 * on every preset shape from 7×7 up, 0.88–0.98 on keras-deep's 3×3 (one tile per image, 2.25×
 * fewer multiplies); F(2×2) 0.50–0.68, and 1.0 on 3×3 (1.27× fewer, under the bar).
 */
function tileFor(oh: number, ow: number): Tile | undefined {
  const m = forced ?? (saving(4, oh, ow) >= saving(2, oh, ow) ? 4 : 2);
  return saving(m, oh, ow) >= 1.5 ? m : undefined;
}

function tilesPay(oh: number, ow: number): boolean {
  return tileFor(oh, ow) !== undefined;
}

/**
 * Whether the kernels take a stride-1 3×3 convolution from `inc` to `outc` channels with an
 * oh × ow output: at least 16 input channels (below that the transforms cost more than the
 * products save), over 16 output channels (where the wide direct kernel would run otherwise)
 * and an output big enough for its tiles to pay.
 */
function takes(g: ConvGeometry, inc: number, outc: number, oh: number, ow: number): boolean {
  return (
    enabled &&
    g.kh === 3 &&
    g.kw === 3 &&
    g.sh === 1 &&
    g.sw === 1 &&
    inc >= 16 &&
    outc > 16 &&
    tilesPay(oh, ow)
  );
}

/** Whether Winograd takes this forward convolution (see `takes`). */
export function winogradForwardTakes(g: ConvGeometry): boolean {
  return takes(g, g.ci, g.co, g.oh, g.ow);
}

/** The tile side for an output oh × ow the kernels take ({@link tilesPay} said so). */
function tileOf(oh: number, ow: number): Tile {
  return tileFor(oh, ow) ?? 2;
}

/**
 * Floats of the transformed filter for `inc` input and `outc` output channels: enough for either
 * tile, so that a layer laid out before {@link setWinogradEnabled} changed the tile still fits;
 * given the output's oh × ow, enough for its mixed tiles too (see {@link setWinogradMixedEnabled}).
 */
export function winogradFilterFloats(inc: number, outc: number, oh = 0, ow = 0): number {
  return Math.ceil(outc / BLOCK) * BLOCK * Math.max(points(4), mixedPoints(oh, ow)) * inc;
}

/** Tile rows per band for an output oh × ow in m × m tiles (at most the tile rows there are). */
function bandRows(m: Tile, oh: number, ow: number): number {
  const tw = Math.ceil(ow / m);
  return Math.min(Math.ceil(oh / m), Math.max(1, Math.floor(BAND_TILES / tw)));
}

/**
 * Floats of scratch one thread of the kernel needs for an output oh × ow from `inc` channels
 * (either tile, as {@link winogradFilterFloats}): a band of transformed tiles, then the products
 * of two tiles (points × 2 tiles × 16).
 */
function scratchFloats(oh: number, ow: number, inc: number): number {
  const need = (m: Tile) => bandRows(m, oh, ow) * Math.ceil(ow / m) * points(m) * inc + points(m) * 2 * BLOCK;
  const mixed = mixedPoints(oh, ow) > 0 ? MIXED_TILES * points(4) * inc + points(4) * 2 * BLOCK : 0;
  return Math.max(need(2), need(4), mixed);
}

/**
 * Tiles the mixed kernel transforms at a time, across images (so that an image's few edge tiles,
 * or keras-deep's one 3×3 tile, still pair up for the products), as {@link BAND_TILES}.
 */
const MIXED_TILES = BAND_TILES;

/** Floats of scratch {@link winogradForward} needs (per thread). */
export function winogradForwardScratch(g: ConvGeometry): number {
  return scratchFloats(g.oh, g.ow, g.ci);
}

/** How {@link winogradForward} reads its input and what it runs after the convolution. */
export interface WinogradForwardOptions {
  /** The bias, activation and pooling run on each output tile, or none. */
  epilogue?: WinogradEpilogue | null;
  /**
   * Whether the input is the unpadded x [n, h, w, ci] itself, its padding read as zeros by the
   * kernel (no padded copy; see {@link setWinogradPadFreeEnabled}), rather than the padded input.
   */
  unpadded?: boolean;
  /**
   * Whether the mixed tiles may run (see {@link setWinogradMixedEnabled}; not with an epilogue):
   * `scratch.u` then holds {@link winogradFilterFloats}(ci, co, oh, ow) floats.
   */
  mixed?: boolean;
  /**
   * The owner and version of a transformed filter kept from call to call (see
   * {@link setWinogradResidentEnabled}): the helper threads then keep their copy of it too.
   */
  resident?: { owner: object; version: number };
}

/**
 * The kernel on wasm-heap buffers: `xp` [n, hp, wp, inc] with `top` rows and `left` columns of
 * zero padding before it that it does not hold (0 when padded already; rows and columns past it
 * read as zeros), the transformed filter `u`, out [n, oh, ow, outc]; split over the helper
 * threads by images, each with its own scratch.
 */
function run(
  simd: SimdKernels,
  d: {
    n: number;
    hp: number;
    wp: number;
    inc: number;
    oh: number;
    ow: number;
    outc: number;
    top?: number;
    left?: number;
  },
  xp: number,
  u: number,
  out: number,
  scratch: number,
  epilogue: WinogradEpilogue | null = null,
  resident?: { owner: object; version: number },
  /** The mixed tiles' edges (`u` then lenet_wino_filter_mixed's), or null for m × m tiles. */
  mixed: { er: number; ec: number } | null = null,
): void {
  const { n, hp, wp, inc, oh, ow, outc, top = 0, left = 0 } = d;
  const m = tileOf(oh, ow);
  const band = bandRows(m, oh, ow);
  if (mixed !== null) {
    runSplit(simd, {
      fn: 'lenet_conv_winograd_mixed',
      macs: n * oh * ow * outc * 9 * inc,
      items: n,
      perItem: [{ ptr: xp, floats: hp * wp * inc }],
      whole: [{ ptr: u, floats: winogradFilterFloats(inc, outc, oh, ow) }],
      out: { ptr: out, floats: oh * ow * outc },
      scratch: { ptr: scratch, floats: scratchFloats(oh, ow, inc) },
      args: (p, count) => [
        p.perItem[0],
        p.whole[0],
        p.out,
        count,
        hp,
        wp,
        inc,
        oh,
        ow,
        outc,
        MIXED_TILES,
        p.scratch,
        top,
        left,
        interior ? 1 : 0,
      ],
    });
    return;
  }
  const bias = epilogue?.bias ?? 0;
  const pool = epilogue?.pool ?? null;
  const outPixels = pool === null ? oh * ow : Math.floor(oh / 2) * Math.floor(ow / 2);
  runSplit(simd, {
    fn: interior ? 'lenet_conv_winograd_interior' : 'lenet_conv_winograd',
    // Multiply-adds of the direct convolution this replaces, so the split rule stays the same.
    macs: n * oh * ow * outc * 9 * inc,
    items: n,
    perItem: [{ ptr: xp, floats: hp * wp * inc }],
    whole: [
      {
        ptr: u,
        floats: Math.ceil(outc / BLOCK) * BLOCK * points(m) * inc,
        resident: residentFilter ? resident : undefined,
      },
      ...(bias !== 0 ? [{ ptr: bias, floats: outc }] : []),
    ],
    // With its epilogue the output is final: the compiled inference pass may keep it (split.ts).
    out: { ptr: out, floats: outPixels * outc, keep: epilogue !== null },
    scratch: { ptr: scratch, floats: scratchFloats(oh, ow, inc) },
    args: (p, count) => [
      p.perItem[0],
      p.whole[0],
      p.out,
      count,
      hp,
      wp,
      inc,
      oh,
      ow,
      outc,
      m,
      band,
      p.scratch,
      bias !== 0 ? p.whole[1] : 0,
      epilogue?.act === 'relu' ? 1 : 0,
      pool === null ? -1 : pool === 'max' ? 0 : 1,
      top,
      left,
    ],
  });
}

/**
 * The Winograd forward convolution (when {@link winogradForwardTakes}) on wasm-heap buffers:
 * `xp` the input padded as `g` says (the input itself when `g.padded` is false or
 * `options.unpadded`), out [n, oh, ow, co] (pooled by `options.epilogue`'s pooling). Scratch: `u` ({@link winogradFilterFloats}(ci, co) floats, the transformed
 * filter) and `work` ({@link winogradForwardScratch} floats).
 */
export function winogradForward(
  simd: SimdKernels,
  g: ConvGeometry,
  xp: number,
  filter: number,
  out: number,
  scratch: { u: number; work: number },
  options: WinogradForwardOptions = {},
): void {
  const mixed = options.mixed && !options.epilogue && !options.resident ? mixedEdges(g.oh, g.ow) : null;
  if (mixed !== null) {
    const { n, ci, co, oh, ow } = g;
    simd.fn.lenet_wino_filter_mixed(filter, scratch.u, ci, co, 0, oh, ow);
    const input = options.unpadded
      ? { hp: g.h, wp: g.w, top: g.top, left: g.left }
      : { hp: g.hp, wp: g.wp, top: 0, left: 0 };
    run(
      simd,
      { n, ...input, inc: ci, oh, ow, outc: co },
      xp,
      scratch.u,
      out,
      scratch.work,
      null,
      undefined,
      mixed,
    );
    return;
  }
  winogradForwardFilter(simd, g, filter, scratch.u);
  winogradForwardTransformed(simd, g, xp, scratch.u, out, scratch.work, options);
}

/**
 * The tile side {@link winogradForward} uses on `g` now: its filter transform depends on it (and
 * {@link setWinogradEnabled} can change it).
 */
export function winogradForwardTile(g: ConvGeometry): number {
  return tileOf(g.oh, g.ow);
}

/** The filter transform of {@link winogradForward}, into `u` ({@link winogradFilterFloats}(ci, co) floats). */
export function winogradForwardFilter(simd: SimdKernels, g: ConvGeometry, filter: number, u: number): void {
  simd.fn.lenet_wino_filter(filter, u, g.ci, g.co, 0, tileOf(g.oh, g.ow));
}

/** {@link winogradForward} with the filter already transformed into `u` (by {@link winogradForwardFilter}, for this tile). */
export function winogradForwardTransformed(
  simd: SimdKernels,
  g: ConvGeometry,
  xp: number,
  u: number,
  out: number,
  work: number,
  options: WinogradForwardOptions = {},
): void {
  const { n, ci, co, oh, ow } = g;
  const input = options.unpadded
    ? { hp: g.h, wp: g.w, top: g.top, left: g.left }
    : { hp: g.hp, wp: g.wp, top: 0, left: 0 };
  run(
    simd,
    { n, ...input, inc: ci, oh, ow, outc: co },
    xp,
    u,
    out,
    work,
    options.epilogue ?? null,
    options.resident,
  );
}

/**
 * Whether the Winograd input gradient takes this convolution: dx is the stride-1 'full'
 * convolution of dy padded by {@link dyPadding} with the filter rotated and its channels
 * swapped, so the forward conditions with the channels swapped, plus the gather's padding rule.
 */
export function winogradInputGradTakes(g: ConvGeometry): boolean {
  return (
    takes(g, g.co, g.ci, g.h, g.w) && g.top <= 2 && g.left <= 2 && g.h + g.top >= g.oh && g.w + g.left >= g.ow
  );
}

/** Floats of scratch {@link winogradInputGradient} needs besides the padded dy (per thread). */
export function winogradInputGradScratch(g: ConvGeometry): number {
  return scratchFloats(g.h, g.w, g.co);
}

/**
 * The input gradient by Winograd (when {@link winogradInputGradTakes}): dx [n, h, w, ci] from dy
 * [n, oh, ow, co] zero-padded into `dyp` ({@link dyPadding}: n·hp·wp·co floats), or with `dyp`
 * 0 read unpadded, the kernel's tile loads reading the padding as zeros (the same sums). Scratch:
 * `u` ({@link winogradFilterFloats}(co, ci, h, w) floats: the mixed tiles may run, see
 * {@link setWinogradMixedEnabled}) and `work` ({@link winogradInputGradScratch}).
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
  const mixed = mixedEdges(h, w);
  if (mixed !== null) simd.fn.lenet_wino_filter_mixed(filter, scratch.u, ci, co, 1, h, w);
  else simd.fn.lenet_wino_filter(filter, scratch.u, ci, co, 1, tileOf(h, w));
  if (scratch.dyp === 0) {
    const input = { hp: oh, wp: ow, top: pad.top, left: pad.left };
    run(
      simd,
      { n, ...input, inc: co, oh: h, ow: w, outc: ci },
      dy,
      scratch.u,
      dx,
      scratch.work,
      null,
      undefined,
      mixed,
    );
    return;
  }
  simd.fn.lenet_pad_nhwc(dy, scratch.dyp, n, oh, ow, co, pad.hp, pad.wp, pad.top, pad.left);
  run(
    simd,
    { n, hp: pad.hp, wp: pad.wp, inc: co, oh: h, ow: w, outc: ci },
    scratch.dyp,
    scratch.u,
    dx,
    scratch.work,
    null,
    undefined,
    mixed,
  );
}

/**
 * Tiles one band of the filter gradient transforms before adding their products: each sum of
 * 2 × 16 channel pairs is loaded and stored once per band, so longer bands pay that less often,
 * while the band's transformed tiles (36·(ci + co) floats each) stay in the core's caches.
 * Measured one thread, batch 64, load ~6 (`AB=winograd-dw scripts/ab-conv-wide.mjs`, medians of
 * 9, two alternations), time ÷ the wide kernel's, mean over the preset shapes: 16 tiles 0.42,
 * 32 tiles 0.41, 64 tiles 0.5–0.6; the band laid out tile-major (each tile's 36 points
 * together) instead of point-major 0.50.
 */
const DW_BAND_TILES = 32;

/** co rounded up to the 16 channels of the filter gradient's register tile. */
const roundUp16 = (co: number) => Math.ceil(co / BLOCK) * BLOCK;

/**
 * Whether the Winograd filter gradient takes this convolution: the forward conditions, with
 * F(4×4, 3×3) tiles (the only ones it has: F(2×2) is the best tile only on outputs of 2 × 2 or
 * thinner, where {@link tilesPay} stops both).
 */
export function winogradFilterGradTakes(g: ConvGeometry): boolean {
  return filterGradEnabled && winogradForwardTakes(g) && tileOf(g.oh, g.ow) === 4;
}

/**
 * Floats of scratch {@link winogradFilterGradient} needs per thread: the sums of the products
 * (36·ci·co16) and one band of transformed input and dy tiles.
 */
export function winogradFilterGradScratch(g: ConvGeometry): number {
  const co16 = roundUp16(g.co);
  return points(4) * (g.ci * co16 + DW_BAND_TILES * (g.ci + co16) + 32);
}

/**
 * The filter gradient by Winograd (when {@link winogradFilterGradTakes}): dW [3, 3, ci, co] from
 * the padded input `xp` [n, hp, wp, ci] and dy [n, oh, ow, co], split over the helper threads
 * (each sums its images' tiles and back-transforms them; the partial gradients are added up).
 * `work`: {@link winogradFilterGradScratch} floats.
 */
export function winogradFilterGradient(
  simd: SimdKernels,
  g: ConvGeometry,
  xp: number,
  dy: number,
  out: number,
  work: number,
  /** Whether `xp` is the unpadded input x [n, h, w, ci], its padding read as zeros (the same sums). */
  unpadded = false,
): void {
  const { n, ci, co, oh, ow } = g;
  const input = unpadded ? { hp: g.h, wp: g.w } : { hp: g.hp, wp: g.wp };
  const at = unpadded ? [g.top, g.left] : [];
  runSplit(simd, {
    fn: unpadded ? 'lenet_conv_filter_grad_winograd_unpadded' : 'lenet_conv_filter_grad_winograd',
    // Multiply-adds of the direct gradient this replaces, so the split rule stays the same.
    macs: n * oh * ow * co * 9 * ci,
    items: n,
    perItem: [
      { ptr: xp, floats: input.hp * input.wp * ci },
      { ptr: dy, floats: oh * ow * co },
    ],
    whole: [],
    out: { ptr: out, floats: 9 * ci * co, sum: true },
    scratch: { ptr: work, floats: winogradFilterGradScratch(g) },
    args: (p, count) => [
      p.perItem[0],
      p.perItem[1],
      p.out,
      count,
      input.hp,
      input.wp,
      ci,
      oh,
      ow,
      co,
      DW_BAND_TILES,
      p.scratch,
      ...at,
    ],
  });
}
