import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { biasActivation } from '../compiled/activation.js';
import type { NetActivation } from '../compiled/net-spec.js';
import { BackendError } from '../errors.js';
import { Conv2D, FusedConv2D, type KernelFunc, type TensorInfo } from '../tfjs.js';
import type { KernelArgs } from './conv-util.js';
import { type ConvAttrs, type ConvGeometry, convGeometry, convInfo, shape4 } from './conv-util.js';
import { packedFloats, wideForward, wideForwardTakes } from './conv-wide.js';
import {
  winogradFilterFloats,
  winogradForward,
  winogradForwardScratch,
  winogradForwardTakes,
  winogradMixedForwardEnabled,
} from './conv-winograd.js';
import { replacingKernel } from './kernel-config.js';
import { poolFastEnabled } from './pool-util.js';
import { roundUp4, type SimdKernels, simdKernels, tileFloats } from './simd.js';
import { runSplit } from './split.js';
import { TANH_NUMERATOR } from './tanh.js';

const NAME = 'Conv2D';
const FUSED_NAME = 'FusedConv2D';

/** Output channels up to which the direct SIMD kernel beats XNNPACK here (measured: see docs/performance.md). */
export const DIRECT_CONV_MAX_OUT_CHANNELS = 16;

/**
 * Which kernel computes the forward pass of convolution `g` on NHWC float32 data: the direct SIMD
 * convolution up to `DIRECT_CONV_MAX_OUT_CHANNELS` output channels, the wide kernel
 * (conv-wide.ts) above where it takes the geometry — as Winograd (conv-winograd.ts) where that
 * takes it too — else XNNPACK. The registered Conv2D/FusedConv2D and the compiled stages both
 * choose here.
 */
export function forwardKernel(g: ConvGeometry): 'direct' | 'winograd' | 'wide' | 'xnnpack' {
  if (g.co <= DIRECT_CONV_MAX_OUT_CHANNELS) return 'direct';
  if (!wideForwardTakes(g)) return 'xnnpack';
  return winogradForwardTakes(g) ? 'winograd' : 'wide';
}

/**
 * Input channels up to which the compiled inference pass runs the direct kernel at any number of
 * output channels ({@link inferenceForwardKernel}): a network's first layers (1 or 3 channels).
 */
export const DIRECT_NARROW_MAX_IN_CHANNELS = 4;

let narrowDirect = globalThis.process?.env?.LENET_INFER_NARROW_DIRECT !== '0';

/**
 * Turns on or off (for A/B measurements) the compiled inference pass's direct kernel for
 * convolutions of up to `DIRECT_NARROW_MAX_IN_CHANNELS` input channels over
 * `DIRECT_CONV_MAX_OUT_CHANNELS` output channels, where the wide kernel runs otherwise.
 * Read when a net is compiled. `LENET_INFER_NARROW_DIRECT=0` starts with it off.
 */
export function setNarrowDirectEnabled(on: boolean): void {
  narrowDirect = on;
}

/**
 * {@link forwardKernel}'s choice for the compiled inference pass: the direct kernel instead of
 * the wide one on a narrow input (see {@link setNarrowDirectEnabled}), where it takes the bias,
 * the activation and a 2×2 pooling in one pass (`convPoolForward`). Measured one thread, load
 * 3.6, interleaved (median of 15): keras 28×28×1 → 32 with its pooling, batch 256, 0.71× the
 * wide kernel's time with the bias, relu and pooling passes after it (batch 64 0.91×); unpooled
 * 28×28×1 → 32 0.95×, vgg 32×32×3 → 32 0.97×.
 */
export function inferenceForwardKernel(g: ConvGeometry): 'direct' | 'winograd' | 'wide' | 'xnnpack' {
  const kernel = forwardKernel(g);
  return kernel === 'wide' && narrowDirect && g.ci <= DIRECT_NARROW_MAX_IN_CHANNELS ? 'direct' : kernel;
}

let directEpilogue = globalThis.process?.env?.LENET_INFER_DIRECT_EPILOGUE !== '0';

/**
 * Turns on or off (for A/B measurements) the compiled inference pass's direct convolution without
 * a pooling after it (vgg-cifar10's first layer) adding the bias and applying a relu to each
 * image's output inside its split, on the thread that computed it while the image is in cache
 * (off: one bias and relu pass over the whole batch on the calling thread after the split; the
 * same values bit for bit). Read when a net is compiled. `LENET_INFER_DIRECT_EPILOGUE=0` starts
 * with it off.
 */
export function setDirectEpilogueEnabled(on: boolean): void {
  directEpilogue = on;
}

/** Whether {@link setDirectEpilogueEnabled} (or `LENET_INFER_DIRECT_EPILOGUE`) leaves it on. */
export function directEpilogueEnabled(): boolean {
  return directEpilogue;
}

let trainNarrowPool = globalThis.process?.env?.LENET_TRAIN_NARROW_POOL !== '0';

let tanhHalves = globalThis.process?.env?.LENET_CONV_POOL_TANH_HALVES !== '0';

/**
 * Turns on or off (for A/B measurements) `convPoolForward`'s tanh of two pixels' last vector in
 * one where it holds at most 2 real channels (6 channels: classic LeNet-5's first layer; the
 * same values, a quarter less tanh work). `LENET_CONV_POOL_TANH_HALVES=0` starts with it off.
 */
export function setConvPoolTanhHalvesEnabled(on: boolean): void {
  tanhHalves = on;
}

/**
 * Turns on or off (for A/B measurements) the compiled training step's direct kernel, with the
 * 2×2 max pooling after it fused in (`convPoolForward`), for convolutions of up to
 * `DIRECT_NARROW_MAX_IN_CHANNELS` input channels over `DIRECT_CONV_MAX_OUT_CHANNELS` output
 * channels, where the wide kernel runs otherwise (then unfused: its own bias, relu and pooling
 * passes). Read when a net is compiled. `LENET_TRAIN_NARROW_POOL=0` starts with it off.
 */
export function setTrainNarrowPoolEnabled(on: boolean): void {
  trainNarrowPool = on;
}

/**
 * {@link forwardKernel}'s choice for a training net's conv2d with the max pooling after it fused
 * in: the direct kernel instead of the wide one on a narrow input (see
 * {@link setTrainNarrowPoolEnabled}). Measured in packages/backend/README.md's switch list.
 */
export function trainPoolForwardKernel(g: ConvGeometry): 'direct' | 'winograd' | 'wide' | 'xnnpack' {
  const kernel = forwardKernel(g);
  return kernel === 'wide' && trainNarrowPool && g.ci <= DIRECT_NARROW_MAX_IN_CHANNELS ? 'direct' : kernel;
}

/**
 * Conv2D for wasm: a direct SIMD convolution (csrc/lenet-kernels.c) for LeNet-sized layers —
 * up to `DIRECT_CONV_MAX_OUT_CHANNELS` output channels, no dilation — where XNNPACK, which
 * tfjs-backend-wasm uses, is slow (one input channel) and repacks the filter on every call
 * because training changes it each step. Over that, the wide kernel (conv-wide.ts: a packed
 * filter, 2 pixels × 16 channels per tile), faster than XNNPACK on every shape measured, or for
 * stride-1 3×3 convolutions from 16 or more channels its Winograd form (conv-winograd.ts); with
 * it turned off (`setWideConvEnabled`) and for dilated or NCHW convolutions, `stock` (XNNPACK).
 */
export function makeConv2dWasm(stock: KernelFunc | undefined): KernelFunc {
  return (args: KernelArgs): TensorInfo => {
    const direct = directConv(args, NAME);
    if (direct === undefined) return runStock(stock, args, NAME);
    return direct.run();
  };
}

/** The activations {@link makeFusedConv2dWasm} runs itself; the others go to XNNPACK. */
const DIRECT_ACTIVATIONS: ReadonlySet<string> = new Set(['linear', 'relu']);

/**
 * FusedConv2D (tfjs-layers' Conv2D in inference: convolution, bias, activation) for wasm: the
 * direct convolution of {@link makeConv2dWasm} where it takes the case, then the bias add and
 * relu in one pass as the training kernels round them — so `predict` computes what the training
 * forward pass and the compiled inference net compute, bit for bit. A linear or relu activation
 * and a per-channel bias only; everything else goes to `stock` (XNNPACK).
 */
export function makeFusedConv2dWasm(stock: KernelFunc | undefined): KernelFunc {
  return (args: KernelArgs): TensorInfo => {
    const { bias, preluActivationWeights } = args.inputs as Record<string, TensorInfo | undefined>;
    const activation = String((args.attrs as { activation?: string } | undefined)?.activation ?? 'linear');
    const direct =
      DIRECT_ACTIVATIONS.has(activation) && preluActivationWeights === undefined
        ? directConv(args, FUSED_NAME)
        : undefined;
    const co = direct?.g.co ?? 0;
    const biasOk =
      bias === undefined || (bias.dtype === 'float32' && bias.shape.length === 1 && bias.shape[0] === co);
    if (direct === undefined || !biasOk) return runStock(stock, args, FUSED_NAME);
    const out = direct.run();
    const { simd, g } = direct;
    const total = g.n * g.oh * g.ow * co;
    if (total === 0 || (bias === undefined && activation === 'linear')) return out;
    const t = tileFloats(co);
    simd.withScratch([t], ([tile]) => {
      const b = bias === undefined ? 0 : simd.ptr(bias);
      biasActivation(simd, simd.ptr(out), b, tile, total, co, t, activation as 'linear' | 'relu');
    });
    return out;
  };
}

function runStock(stock: KernelFunc | undefined, args: KernelArgs, name: string): TensorInfo {
  if (stock === undefined) throw new Error(`${name}: no stock wasm kernel for this case`);
  return stock(args) as TensorInfo;
}

/**
 * The direct (or, over `DIRECT_CONV_MAX_OUT_CHANNELS` output channels, wide) convolution of
 * a Conv2D or FusedConv2D call when it takes the case (NHWC, float32, no dilation, SIMD available):
 * its geometry and a `run` that allocates the output and fills it.
 */
function directConv(
  args: KernelArgs,
  name: string,
): { simd: SimdKernels; g: ConvGeometry; run(): TensorInfo } | undefined {
  const backend = args.backend as BackendWasm;
  const { x, filter } = args.inputs as { x: TensorInfo; filter: TensorInfo };
  const attrs = (args.attrs ?? {}) as unknown as ConvAttrs & { dilations?: [number, number] | number };
  const info = convInfo(shape4(x, name, 'x'), shape4(filter, name, 'filter'), attrs, attrs.dilations ?? 1);
  const simd =
    info.dataFormat === 'channelsLast' &&
    info.dilationHeight === 1 &&
    info.dilationWidth === 1 &&
    forwardKernel(convGeometry(info)) !== 'xnnpack' &&
    x.dtype === 'float32' &&
    filter.dtype === 'float32'
      ? simdKernels(backend)
      : undefined;
  if (simd === undefined) return undefined;
  const g = convGeometry(info);
  return {
    simd,
    g,
    run() {
      const out = backend.makeOutput(info.outShape, 'float32');
      if (g.n * g.oh * g.ow * g.co === 0) return out;
      const kernel = forwardKernel(g);
      if (kernel === 'winograd' || kernel === 'wide') {
        const pack =
          kernel === 'winograd'
            ? winogradFilterFloats(g.ci, g.co, g.oh, g.ow)
            : packedFloats(g.kh * g.kw * g.ci, g.co);
        const work = kernel === 'winograd' ? winogradForwardScratch(g) : 0;
        simd.withScratch([g.padded ? g.n * g.hp * g.wp * g.ci : 0, pack, work], ([xp, wpk, scratch]) => {
          if (g.padded)
            simd.fn.lenet_pad_nhwc(simd.ptr(x), xp, g.n, g.h, g.w, g.ci, g.hp, g.wp, g.top, g.left);
          const input = g.padded ? xp : simd.ptr(x);
          if (kernel === 'winograd')
            // The compiled training step's tiles (mixed where they run): autodiff then computes its sums.
            winogradForward(
              simd,
              g,
              input,
              simd.ptr(filter),
              simd.ptr(out),
              { u: wpk, work: scratch },
              { mixed: winogradMixedForwardEnabled() },
            );
          else wideForward(simd, g, input, simd.ptr(filter), simd.ptr(out), wpk);
        });
        return out;
      }
      const co4 = roundUp4(g.co);
      simd.withScratch(
        [g.padded ? g.n * g.hp * g.wp * g.ci : 0, co4 !== g.co ? g.kh * g.kw * g.ci * co4 : 0],
        ([xp, w4]) => {
          convForward(simd, g, simd.ptr(x), simd.ptr(filter), simd.ptr(out), { xp, w4 });
        },
      );
      return out;
    },
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
  /**
   * The bias (its data or 0) and a relu (or none) run on each image's output inside the split
   * (see {@link setDirectEpilogueEnabled}); `tile` is `t` = `tileFloats(co)` floats of scratch.
   */
  epilogue: { bias: number; relu: boolean; tile: number; t: number } | null = null,
): void {
  const { n, h, w, ci, co, kh, kw, oh, ow, sh, sw, top, left, hp, wp, padded } = g;
  const f = simd.fn;
  const co4 = roundUp4(co);
  const rows = kh * kw * ci;
  const xp = padded ? scratch.xp : x;
  if (padded) f.lenet_pad_nhwc(x, xp, n, h, w, ci, hp, wp, top, left);
  const wk = co4 !== co ? scratch.w4 : filter;
  if (co4 !== co) f.lenet_copy_rows(filter, co, wk, co4, rows, co, rows * co4);
  // lenet_conv_forward's arguments (lenet_conv_forward_bias_act's first ones).
  const convArgs = (p: { perItem: number[]; whole: number[]; out: number }, count: number) =>
    [p.perItem[0], p.whole[0], p.out, count, hp, wp, ci, oh, ow, co, co4, kh, kw, sh, sw] as const;
  const common = {
    macs: n * oh * ow * co * rows,
    items: n,
    perItem: [{ ptr: xp, floats: hp * wp * ci }],
    out: { ptr: out, floats: oh * ow * co },
  };
  if (epilogue === null) {
    runSplit(simd, {
      ...common,
      fn: 'lenet_conv_forward',
      whole: [{ ptr: wk, floats: rows * co4 }],
      args: (p, count) => [...convArgs(p, count)],
    });
    return;
  }
  const { bias, relu, tile, t } = epilogue;
  if (bias !== 0) f.lenet_fill_tile(bias, tile, co, t);
  const withBias = bias !== 0;
  runSplit(simd, {
    ...common,
    // The output is final: the compiled inference pass may keep it (split.ts).
    out: { ...common.out, keep: true },
    fn: 'lenet_conv_forward_bias_act',
    whole: [
      { ptr: wk, floats: rows * co4 },
      ...(withBias
        ? [
            { ptr: tile, floats: t },
            { ptr: bias, floats: co },
          ]
        : []),
    ],
    args: (p, count) => [
      ...convArgs(p, count),
      withBias ? p.whole[1] : 0,
      withBias ? p.whole[2] : 0,
      t,
      relu ? 1 : 0,
    ],
  });
}

/**
 * {@link convForward} (stride 1) with the bias, the activation and a 2×2/2 pooling without
 * padding after it in one kernel, for the compiled inference pass: x [n, h, w, ci] → out
 * [n, ⌊oh/2⌋, ⌊ow/2⌋, co], bit for bit what the convolution, the bias add and activation
 * (`biasActivation`) and the pooling (`pool2x2`, whose choice of max kernel it follows)
 * compute one after the other, without writing or copying back the unpooled output. `bias`: the
 * bias's data or 0. Scratch as {@link convForward}'s, and `b4` (co rounded up to 4 floats).
 * Training's max pooling passes `keep`: `arg` gets each window's first maximum (a byte per
 * output value, as `lenet_max_pool_2x2_arg` keeps it for `lenet_max_pool_grad_2x2_arg`; n·ph·pw·co
 * a multiple of 4 per image) and `nan` an i32 per image, 1 where a window held a NaN conv output.
 * Training's average pooling passes `keep.full` instead: it gets the activated conv output
 * [n, oh, ow, co] (oh and ow even) for the activation's gradient, bit for bit the unfused stage's.
 */
export function convPoolForward(
  simd: SimdKernels,
  g: ConvGeometry,
  x: number,
  filter: number,
  bias: number,
  out: number,
  scratch: { xp: number; w4: number; b4: number },
  act: NetActivation,
  op: 'max' | 'avg',
  keep: { arg: number; nan: number } | { full: number } | null = null,
): void {
  const { n, h, w, ci, co, kh, kw, oh, ow, sh, sw, top, left, hp, wp, padded } = g;
  if (sh !== 1 || sw !== 1) throw new BackendError(`convPoolForward: stride ${sh}x${sw}, not 1`, 'wasm');
  const perImage = Math.floor(oh / 2) * Math.floor(ow / 2) * co;
  const full = keep !== null && 'full' in keep ? keep.full : 0;
  const arg = keep !== null && 'arg' in keep ? keep : null;
  if (full !== 0 && (op !== 'avg' || oh % 2 !== 0 || ow % 2 !== 0)) {
    throw new BackendError(`convPoolForward: no full output for ${op} pooling of ${oh}x${ow}`, 'wasm');
  }
  if (arg !== null && (op !== 'max' || co < 4 || perImage % 4 !== 0)) {
    throw new BackendError(
      `convPoolForward: no argmax for ${op} pooling of ${perImage} values per image`,
      'wasm',
    );
  }
  const f = simd.fn;
  const co4 = roundUp4(co);
  const rows = kh * kw * ci;
  const ph = Math.floor(oh / 2);
  const pw = Math.floor(ow / 2);
  const xp = padded ? scratch.xp : x;
  if (padded) f.lenet_pad_nhwc(x, xp, n, h, w, ci, hp, wp, top, left);
  const wk = co4 !== co ? scratch.w4 : filter;
  if (co4 !== co) f.lenet_copy_rows(filter, co, wk, co4, rows, co, rows * co4);
  if (bias !== 0) f.lenet_copy_rows(bias, co, scratch.b4, co4, 1, co, co4);
  // The max kernel pool2x2 would run (lenet_max_pool_2x2, which leaves c < 4 to lenet_pool_2x2's
  // scalar loop, or lenet_pool_2x2's vector max): their maxima differ on NaN and on ±0.
  const pool = op === 'avg' ? 1 : co < 4 ? 3 : poolFastEnabled() ? 0 : 2;
  const actCode = act === 'relu' ? 1 : act === 'tanh' ? (tanhHalves ? 3 : 2) : 0;
  const shape = [hp, wp, ci, ph, pw, co, co4, kh, kw, actCode] as const;
  const outs =
    full !== 0
      ? [{ ptr: full, floats: oh * ow * co }]
      : arg === null
        ? []
        : [
            { ptr: arg.arg, floats: perImage / 4 },
            { ptr: arg.nan, floats: 1 },
          ];
  runSplit(simd, {
    fn: full !== 0 ? 'lenet_conv_forward_pool2_full' : 'lenet_conv_forward_pool2',
    macs: n * 4 * ph * pw * co * rows,
    items: n,
    perItem: [{ ptr: xp, floats: hp * wp * ci }],
    whole: [
      { ptr: wk, floats: rows * co4 },
      { ptr: scratch.b4, floats: co4 },
    ],
    out: { ptr: out, floats: ph * pw * co },
    outs,
    args: (p, count) => {
      const head = [p.perItem[0], p.whole[0], bias !== 0 ? p.whole[1] : 0, p.out];
      // The full kernel takes no pool code: it averages.
      return full !== 0
        ? [...head, p.outs[0], count, ...shape, ...TANH_NUMERATOR]
        : [
            ...head,
            arg === null ? 0 : p.outs[0],
            arg === null ? 0 : p.outs[1],
            count,
            ...shape,
            pool,
            ...TANH_NUMERATOR,
          ];
    },
  });
}

/** Conv2D for wasm; `stock` (XNNPACK) is kept for the other cases, with its setup. */
export const conv2dConfig = replacingKernel(Conv2D, makeConv2dWasm);

/** FusedConv2D for wasm; `stock` (XNNPACK) is kept for the other cases, with its setup. */
export const fusedConv2dConfig = replacingKernel(FusedConv2D, makeFusedConv2dWasm);
