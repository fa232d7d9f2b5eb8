import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { BackendError } from '../errors.js';
import type * as tf from '../tfjs.js';
import type { TensorInfo } from '../tfjs.js';
import { type ConvGeometry, convGeometry, convInfo } from '../wasm-kernels/conv-util.js';
import {
  dyPadding,
  packedFloats,
  wideFilterGradient,
  wideFilterGradScratch,
  wideForward,
  wideInputGradient,
} from '../wasm-kernels/conv-wide.js';
import {
  winogradEpilogueTakes,
  winogradFilterFloats,
  winogradFilterGradient,
  winogradFilterGradScratch,
  winogradForward,
  winogradForwardFilter,
  winogradForwardScratch,
  winogradForwardTile,
  winogradForwardTransformed,
  winogradInputGradient,
  winogradInputGradPadFreeEnabled,
  winogradInputGradScratch,
  winogradMixedForwardEnabled,
  winogradPadFreeEnabled,
  winogradTrainPadFreeEnabled,
} from '../wasm-kernels/conv-winograd.js';
import {
  convForward,
  convPoolForward,
  directEpilogueEnabled,
  forwardKernel,
  inferenceForwardKernel,
  trainPoolForwardKernel,
} from '../wasm-kernels/conv2d.js';
import {
  filterGradient,
  filterGradKernel,
  poolBackwardGradients,
  poolBackwardScratch,
  poolBackwardTakes,
  poolFilterGradient,
  poolFilterGradTakes,
} from '../wasm-kernels/conv2d-backprop-filter.js';
import { inputGradient, inputGradKernel } from '../wasm-kernels/conv2d-backprop-input.js';
import { pool2x2, poolGrad2x2 } from '../wasm-kernels/pool-util.js';
import { roundUp4, type SimdKernels, tileFloats } from '../wasm-kernels/simd.js';
import { TANH_NUMERATOR } from '../wasm-kernels/tanh.js';
import { activationGradient, biasActivation } from './activation.js';
import type { BatchNormFold } from './fold.js';
import { checkVariable, type NetActivation, netSpecError } from './net-spec.js';
import { inferencePackingEnabled, PackedWeights } from './packed-weights.js';
import { runRegistered } from './registered.js';
import type { NetMode, Stage, StageIO, StepInfo, Take } from './stage.js';

/**
 * A Conv2D layer (bias and activation unfused, as tfjs trains it): the direct SIMD convolution,
 * the filter gradient read straight from the padded input, the gather input gradient — the
 * kernels the registered Conv2D, Conv2DBackpropFilter and Conv2DBackpropInput run, split over the
 * helper threads the same way. Above `DIRECT_CONV_MAX_OUT_CHANNELS` output channels they
 * run the wide kernels (conv-wide.ts: forward, gather input gradient, chunked filter gradient)
 * where those take the case, as the registered kernels do (the input gradient's kernel is
 * {@link inputGradKernel}'s choice; the forward pass and the wide input gradient run as
 * Winograd where conv-winograd.ts takes the geometry; the filter gradient is
 * {@link filterGradKernel}'s choice of direct, wide or Winograd). Otherwise the forward pass and the input gradient go
 * to XNNPACK: this layer then calls them (on its backend tensors) and copies their results in.
 * Inference runs what the registered FusedConv2D runs: the same direct or wide convolution with
 * the bias add and relu as in training, or XNNPACK's fused kernel.
 */
export class ConvStage implements Stage {
  readonly outShape: number[];
  readonly passThrough = false;
  /** The geometry at batch 1: only `n` depends on the batch. */
  private readonly g: ConvGeometry;
  private readonly co4: number;
  private readonly rows: number;
  private readonly l4: number;
  private readonly t: number;
  private xp = 0;
  private dxp = 0;
  private w4 = 0;
  private dw4 = 0;
  private wt = 0;
  private tile = 0;
  private acc = 0;
  private wpk = 0;
  private dyp = 0;
  private dwt = 0;
  private wWork = 0;
  private gKernel = 0;
  private gBias = 0;
  private b4 = 0;
  /** Training with the pooling fused: each window's argmax, the NaN flag of each image (i32). */
  private arg = 0;
  private nanFlags = 0;
  /** Training with the pooling fused: the conv output's gradient, and its output (max: when redone unfused; average: always). */
  private dconv = 0;
  private yFull = 0;
  /** Whether this step's forward pass ran unfused (a NaN conv output), so the backward pass does. */
  private redone = false;
  private readonly attrs: { strides: [number, number]; pad: 'same' | 'valid' };
  /** Whether the registered kernels take XNNPACK's path for this layer. */
  private readonly xnnpack: boolean;
  /** Which wide kernels the registered kernels take for this layer (chosen when compiled). */
  private readonly wide: { forward: boolean; dx: boolean };
  /** The filter gradient's kernel ({@link filterGradKernel}'s choice, when compiled). */
  private readonly dwKernel: 'direct' | 'winograd' | 'wide';
  /** Which of the wide forward pass and input gradient run as Winograd (conv-winograd.ts). */
  private readonly wino: { forward: boolean; dx: boolean };
  /** Inference with the Winograd forward: the transformed filter, kept while the kernel stays. */
  private readonly winoFilter: PackedWeights | null;
  /** Whether the input gradient runs the direct gather (its channel limit is its own). */
  private readonly directDx: boolean;
  /** Inference with the Winograd forward: whether its kernel adds the bias, the activation and the pooling. */
  private readonly epilogue: boolean;
  /** With the Winograd forward: whether it (and in training the Winograd filter gradient) reads the input unpadded (no padded copy). */
  private readonly padFree: boolean;
  /** Inference with the direct kernel unpooled: whether its split adds the bias and the relu (see `setDirectEpilogueEnabled`). */
  private readonly directEpilogue: boolean;
  readonly splitChain?: { input: boolean; output: boolean };
  /** Training with the Winograd input gradient: whether it reads dy unpadded (no padded copy). */
  private readonly dxPadFree: boolean;

  constructor(
    private readonly simd: SimdKernels,
    private readonly backend: BackendWasm,
    index: number,
    inShape: readonly number[],
    private readonly kernel: tf.Variable,
    private readonly bias: tf.Variable | undefined,
    strides: [number, number],
    padding: 'same' | 'valid',
    private readonly act: NetActivation,
    private readonly mode: NetMode,
    /** Inference: the kernel and bias with the batch norm after the layer folded in. */
    private readonly folded: BatchNormFold | null = null,
    /** The 2×2/2 pooling after the layer, fused in (see {@link ConvPoolStage}). */
    private readonly pool: 'max' | 'avg' | null = null,
  ) {
    if (inShape.length !== 3)
      netSpecError(index, `conv2d needs an [h, w, c] input, got [${inShape.join(', ')}]`);
    const [h, w, ci] = inShape;
    if (kernel.rank !== 4)
      netSpecError(index, `conv2d kernel must be [kh, kw, ci, co], got [${kernel.shape}]`);
    const [kh, kw, , co] = kernel.shape as [number, number, number, number];
    checkVariable(index, 'conv2d kernel', kernel, [kh, kw, ci, co]);
    if (bias) checkVariable(index, 'conv2d bias', bias, [co]);
    this.attrs = { strides, pad: padding };
    const info = convInfo([1, h, w, ci], [kh, kw, ci, co], this.attrs);
    const g = convGeometry(info);
    const yKernel =
      mode === 'infer'
        ? inferenceForwardKernel(g)
        : pool !== null
          ? trainPoolForwardKernel(g)
          : forwardKernel(g);
    const dxKernel = inputGradKernel(g);
    this.directDx = dxKernel === 'direct';
    this.wide = {
      forward: yKernel === 'wide' || yKernel === 'winograd',
      dx: dxKernel === 'wide' || dxKernel === 'winograd',
    };
    this.dwKernel = filterGradKernel(g);
    this.xnnpack = yKernel === 'xnnpack';
    this.wino = { forward: yKernel === 'winograd', dx: dxKernel === 'winograd' };
    this.winoFilter =
      mode === 'infer' && this.wino.forward && inferencePackingEnabled()
        ? new PackedWeights(simd, winogradFilterFloats(ci, co))
        : null;
    if (g.oh < 1 || g.ow < 1) netSpecError(index, `conv2d output is empty (${g.oh}x${g.ow})`);
    this.g = g;
    this.epilogue = mode === 'infer' && this.wino.forward && winogradEpilogueTakes(g, act, pool !== null);
    this.padFree =
      this.wino.forward &&
      (mode === 'infer'
        ? winogradPadFreeEnabled()
        : this.dwKernel === 'winograd' && winogradTrainPadFreeEnabled());
    this.dxPadFree = mode !== 'infer' && this.wino.dx && winogradInputGradPadFreeEnabled();
    this.directEpilogue =
      mode === 'infer' &&
      yKernel === 'direct' &&
      pool === null &&
      (act === 'relu' || act === 'linear') &&
      directEpilogueEnabled();
    if (mode === 'infer') {
      // The Winograd forward with its epilogue reads x (unpadded or not padded) and writes y in
      // its split call alone; the direct one with its epilogue writes y so, after a padded copy.
      const winoAlone = this.wino.forward && inferencePackingEnabled();
      this.splitChain = {
        input: winoAlone && (!g.padded || this.padFree),
        output: (winoAlone && this.epilogue) || this.directEpilogue,
      };
    }
    const poolFits = mode === 'infer' ? inferPoolFits(g, act) : pool !== null && trainPoolFits(g, act, pool);
    if (pool !== null && !poolFits) {
      throw new BackendError(
        `compiled net: layer ${index}'s conv2d cannot take the pooling after it`,
        'wasm',
      );
    }
    this.outShape = pool === null ? [g.oh, g.ow, co] : [Math.floor(g.oh / 2), Math.floor(g.ow / 2), co];
    this.co4 = roundUp4(co);
    this.rows = kh * kw * ci;
    this.l4 = roundUp4(kw * ci);
    this.t = tileFloats(co);
  }

  layout(n: number, take: Take): void {
    const { hp, wp, ci, co, kh, kw, padded } = this.g;
    const direct = !this.xnnpack && !this.wide.forward;
    const forwardPack = this.wino.forward
      ? winogradFilterFloats(ci, co, this.g.oh, this.g.ow)
      : this.wide.forward
        ? packedFloats(this.rows, co)
        : 0;
    const { wino } = this;
    const work = Math.max(
      wino.forward ? winogradForwardScratch(this.g) : 0,
      wino.dx && this.mode !== 'infer' ? winogradInputGradScratch(this.g) : 0,
      this.dwKernel === 'winograd' && this.mode !== 'infer' ? winogradFilterGradScratch(this.g) : 0,
    );
    if (this.mode === 'infer') {
      // Only the direct or wide convolution's padded input and padded filter, and the bias tile.
      this.xp = padded && !this.xnnpack && !this.padFree ? take(n * hp * wp * ci) : 0;
      this.w4 = this.co4 !== co && direct ? take(this.rows * this.co4) : 0;
      this.wpk = forwardPack > 0 && !this.winoFilter ? take(forwardPack) : 0;
      this.wWork = work > 0 ? take(work) : 0;
      this.tile = take(this.t);
      this.b4 = this.pool !== null ? take(this.co4) : 0;
      return;
    }
    this.xp = padded && !this.padFree ? take(n * hp * wp * ci) : 0;
    this.dxp = padded && this.directDx ? take(n * hp * wp * ci) : 0;
    this.w4 = this.co4 !== co && direct ? take(this.rows * this.co4) : 0;
    this.dw4 = this.co4 !== co && this.dwKernel === 'direct' ? take(this.rows * this.co4) : 0;
    this.wt = this.directDx ? take(kh * co * this.l4) : 0;
    const dxPack = wino.dx
      ? winogradFilterFloats(co, ci, this.g.h, this.g.w)
      : this.wide.dx
        ? packedFloats(kh * kw * co, ci)
        : 0;
    const pack = Math.max(forwardPack, dxPack);
    this.wpk = pack > 0 ? take(pack) : 0;
    const dyPad = dyPadding({ ...this.g, n });
    // The Winograd input gradient reads dy unpadded where dyp is 0.
    this.dyp = this.wide.dx && !(wino.dx && this.dxPadFree) ? take(n * dyPad.hp * dyPad.wp * co) : 0;
    const dwt = this.dwKernel === 'wide' ? wideFilterGradScratch(this.g) : 0;
    this.dwt = dwt > 0 ? take(dwt) : 0;
    this.wWork = work > 0 ? take(work) : 0;
    this.tile = take(this.t);
    this.acc = take(this.t);
    this.gKernel = take(this.rows * co);
    this.gBias = this.bias ? take(co) : 0;
    if (this.pool !== null) {
      const { oh, ow } = this.g;
      this.b4 = take(this.co4);
      if (this.pool === 'max') {
        this.arg = take((n * oh * ow * co) / 16);
        this.nanFlags = take(n);
      }
      // Average pooling after a tanh: its gradient is written over the kept tanh output. Max
      // pooling: also poolBackward's scratch (one image's gradient and the sparse filter gradient).
      const dconv = Math.max(n * oh * ow * co, poolBackwardScratch({ ...this.g, n }));
      this.dconv = this.pool === 'max' || this.act !== 'tanh' ? take(dconv) : 0;
      this.yFull = take(n * oh * ow * co);
    }
  }

  /** The geometry at this step's batch size. */
  private at(n: number): ConvGeometry {
    return { ...this.g, n };
  }

  /** The kernel and bias the forward pass runs: the variables, or their fold with a batch norm. */
  private weights(): { kernel: TensorInfo; bias: TensorInfo | undefined } {
    return this.folded ? this.folded.get() : { kernel: this.kernel, bias: this.bias };
  }

  forward(io: StageIO, step: StepInfo): void {
    const { simd } = this;
    const g = this.at(step.n);
    const { n, h, w, ci, co, oh, ow, top, left, hp, wp, padded } = g;
    // First: a fold may allocate.
    const { kernel, bias: biasInfo } = this.weights();
    if (this.wide.forward) {
      const copy = padded && !this.padFree;
      if (copy) simd.fn.lenet_pad_nhwc(io.x, this.xp, n, h, w, ci, hp, wp, top, left);
      const xp = copy ? this.xp : io.x;
      const bias = biasInfo ? simd.ptr(biasInfo) : 0;
      const act = this.act === 'relu' ? 'relu' : 'linear';
      const epilogue = this.epilogue ? ({ bias, act, pool: this.pool } as const) : null;
      const options = {
        epilogue,
        unpadded: this.padFree,
        mixed: this.mode !== 'infer' && winogradMixedForwardEnabled(),
      };
      if (this.winoFilter) {
        const filter = kernel;
        const u = this.winoFilter.get([filter.dataId, winogradForwardTile(g)], (dst) => {
          winogradForwardFilter(simd, g, simd.ptr(filter), dst);
        });
        const resident = { owner: this.winoFilter, version: this.winoFilter.version };
        winogradForwardTransformed(simd, g, xp, u, io.y, this.wWork, { ...options, resident });
      } else if (this.wino.forward)
        winogradForward(simd, g, xp, simd.ptr(kernel), io.y, { u: this.wpk, work: this.wWork }, options);
      else wideForward(simd, g, xp, simd.ptr(kernel), io.y, this.wpk);
      if (epilogue === null)
        biasActivation(simd, io.y, bias, this.tile, n * oh * ow * co, co, this.t, this.act);
      return;
    }
    if (this.pool !== null) {
      const bias = biasInfo ? simd.ptr(biasInfo) : 0;
      const scratch = { xp: this.xp, w4: this.w4, b4: this.b4 };
      if (this.mode === 'train' && this.pool === 'avg') {
        // The activated conv output too: its gradient then needs no redo on a NaN.
        convPoolForward(simd, g, io.x, simd.ptr(kernel), bias, io.y, scratch, this.act, 'avg', {
          full: this.yFull,
        });
        return;
      }
      const keep = this.mode === 'train' ? { arg: this.arg, nan: this.nanFlags } : null;
      convPoolForward(simd, g, io.x, simd.ptr(kernel), bias, io.y, scratch, this.act, this.pool, keep);
      this.redone =
        keep !== null && new Int32Array(simd.heap().buffer, this.nanFlags, n).some((flag) => flag !== 0);
      if (this.redone) {
        // The relu gradient reads every conv output, and a NaN one reaches it (NaN · 0 = NaN):
        // the unfused stages' forward pass, kept for their backward pass.
        convForward(simd, g, io.x, simd.ptr(kernel), this.yFull, { xp: this.xp, w4: this.w4 });
        biasActivation(simd, this.yFull, bias, this.tile, n * oh * ow * co, co, this.t, this.act);
        pool2x2(simd, this.yFull, io.y, { n, ih: oh, iw: ow, c: co, oh: oh / 2, ow: ow / 2 }, 0);
      }
      return;
    }
    if (this.xnnpack && this.mode === 'infer') {
      // What predict runs there: XNNPACK's convolution with the bias and a relu fused (a tanh after).
      const inputs = { x: io.xInfo, filter: kernel, ...(biasInfo ? { bias: biasInfo } : {}) };
      const activation = this.act === 'relu' ? 'relu' : 'linear';
      this.registered('FusedConv2D', inputs, { dilations: [1, 1], activation }, io.y);
      if (this.act === 'tanh') simd.fn.lenet_tanh(io.y, io.y, n * oh * ow * co, ...TANH_NUMERATOR);
      return;
    }
    if (this.xnnpack) {
      // The padded input still feeds the filter gradient.
      if (padded) simd.fn.lenet_pad_nhwc(io.x, this.xp, n, h, w, ci, hp, wp, top, left);
      this.registered('Conv2D', { x: io.xInfo, filter: kernel }, { dilations: [1, 1] }, io.y);
    } else if (this.directEpilogue) {
      const bias = biasInfo ? simd.ptr(biasInfo) : 0;
      const epilogue = { bias, relu: this.act === 'relu', tile: this.tile, t: this.t };
      convForward(simd, g, io.x, simd.ptr(kernel), io.y, { xp: this.xp, w4: this.w4 }, epilogue);
      return;
    } else {
      convForward(simd, g, io.x, simd.ptr(kernel), io.y, { xp: this.xp, w4: this.w4 });
    }
    const bias = biasInfo ? simd.ptr(biasInfo) : 0;
    biasActivation(simd, io.y, bias, this.tile, n * oh * ow * co, co, this.t, this.act);
  }

  backward(io: StageIO, step: StepInfo, needDx: boolean): void {
    const { simd } = this;
    const g = this.at(step.n);
    const { n, h, w, ci, co, oh, ow, padded } = g;
    const pixels = n * oh * ow;
    if (this.pool === 'max' && !this.redone && !needDx && poolFilterGradTakes(g)) {
      // The gradient stays pooled: the relu gradient at the pooled values (see poolGradient),
      // the bias and filter gradients through the argmax, summed as from the scattered gradient.
      activationGradient(simd, this.act, io.y, io.dy, io.dy, (pixels / 4) * co);
      if (this.bias) {
        const args = [n, oh / 2, ow / 2, co, this.tile, this.acc] as const;
        simd.fn.lenet_sum_rows_pool2_arg(io.dy, this.arg, this.gBias, ...args);
      }
      poolFilterGradient(simd, g, padded ? this.xp : io.x, io.dy, this.arg, this.gKernel);
      return;
    }
    if (this.pool === 'max' && !this.redone && (this.directDx || !needDx) && poolBackwardTakes(g, needDx)) {
      this.poolBackward(io, g, needDx);
      return;
    }
    const dy = this.pool !== null ? this.poolGradient(io, n) : io.dy;
    if (this.pool === null) activationGradient(simd, this.act, io.y, io.dy, io.dy, pixels * co);
    if (this.bias) simd.fn.lenet_sum_rows(dy, this.gBias, pixels, co, this.t, 1, this.tile, this.acc);
    const xp = padded && !this.padFree ? this.xp : io.x;
    if (this.dwKernel === 'winograd')
      winogradFilterGradient(simd, g, xp, dy, this.gKernel, this.wWork, padded && this.padFree);
    else if (this.dwKernel === 'wide') wideFilterGradient(simd, g, xp, dy, this.gKernel, this.dwt);
    // dy read with its own stride: the buffers leave room for the vector read past it.
    else filterGradient(simd, g, xp, dy, co, this.gKernel, this.dw4);
    if (!needDx) return;
    if (this.directDx) {
      inputGradient(simd, g, dy, simd.ptr(this.kernel), io.dx, { wt: this.wt, dxp: this.dxp });
    } else if (this.wino.dx) {
      const scratch = { dyp: this.dyp, u: this.wpk, work: this.wWork };
      winogradInputGradient(simd, g, dy, simd.ptr(this.kernel), io.dx, scratch);
    } else if (this.wide.dx) {
      wideInputGradient(simd, g, dy, simd.ptr(this.kernel), io.dx, { dyp: this.dyp, wpk: this.wpk });
    } else {
      this.registered(
        'Conv2DBackpropInput',
        { dy: io.dyInfo as TensorInfo, filter: this.kernel },
        { inputShape: [n, h, w, ci] },
        io.dx,
      );
    }
  }

  /**
   * Training with the max pooling fused, where `poolBackwardTakes`: the relu gradient at the
   * pooled values (see poolGradient), the bias gradient through the argmax (or, with the sparse
   * filter gradient alone, over the pooled gradient), then the filter and
   * input gradients image by image from the pooled gradient (`dconv` holds one image's scattered
   * gradient per thread), bit for bit the unfused kernels' sums.
   */
  private poolBackward(io: StageIO, g: ConvGeometry, needDx: boolean): void {
    const { simd } = this;
    const { n, h, w, ci, co, kh, kw, oh, ow, hp, wp, top, left, padded } = g;
    activationGradient(simd, this.act, io.y, io.dy, io.dy, (n * oh * ow * co) / 4);
    if (this.bias && co % 4 === 0) {
      const args = [n, oh / 2, ow / 2, co, this.tile, this.acc] as const;
      simd.fn.lenet_sum_rows_pool2_arg(io.dy, this.arg, this.gBias, ...args);
    } else if (this.bias) {
      // The sparse filter gradient alone (poolBackwardTakes): the pooled gradient's sums, without
      // the scattered zeros (the order of its rows, not the scattered gradient's).
      simd.fn.lenet_sum_rows(io.dy, this.gBias, (n * oh * ow) / 4, co, this.t, 1, this.tile, this.acc);
    }
    if (needDx) simd.fn.lenet_input_grad_filter(simd.ptr(this.kernel), this.wt, kh, kw, ci, co, this.l4);
    const dxp = !needDx ? 0 : padded ? this.dxp : io.dx;
    const xp = padded ? this.xp : io.x;
    poolBackwardGradients(
      simd,
      g,
      { xp, dy: io.dy, arg: this.arg, wt: this.wt, l4: this.l4 },
      { dw: this.gKernel, dxp },
      this.dconv,
    );
    if (needDx && padded) simd.fn.lenet_crop_nhwc(dxp, io.dx, n, h, w, ci, hp, wp, top, left);
  }

  /**
   * Training with the pooling fused: the gradient of the activated conv output (in `dconv`) from
   * the pooled output's `io.dy`. The pooling's gradient goes to each window's first maximum only,
   * where the activation's output is the pooled value itself, so the relu gradient is taken at
   * the pooled value, before the scatter: dy · step(pooled) then masked, the same products and
   * masks as the unfused stages' mask then dy · step(y) (elsewhere +0 · step(y) = +0 when no conv
   * output is NaN; when one is, the forward pass was redone unfused and so is this).
   */
  private poolGradient(io: StageIO, n: number): number {
    const { simd } = this;
    const { oh, ow, co } = this.g;
    const geometry = { n, ih: oh, iw: ow, c: co, oh: oh / 2, ow: ow / 2 };
    if (this.pool === 'avg') {
      // The average pooling's dy / 4 spread and the activation's gradient at the kept conv output
      // (tanh's written over it: each value read once, its line in cache when written).
      if (this.act === 'tanh') {
        const args = [n, oh, ow, co, oh / 2, ow / 2, 0.25] as const;
        simd.fn.lenet_avg_pool_grad_2x2_tanh(io.dy, this.yFull, this.yFull, ...args);
        return this.yFull;
      }
      poolGrad2x2(simd, io.dy, this.yFull, this.dconv, geometry, 1);
      activationGradient(simd, this.act, this.yFull, this.dconv, this.dconv, n * oh * ow * co);
      return this.dconv;
    }
    if (this.redone) {
      poolGrad2x2(simd, io.dy, this.yFull, this.dconv, geometry, 0);
      activationGradient(simd, this.act, this.yFull, this.dconv, this.dconv, n * oh * ow * co);
      return this.dconv;
    }
    activationGradient(simd, this.act, io.y, io.dy, io.dy, (n * oh * ow * co) / 4);
    simd.fn.lenet_max_pool_grad_2x2_arg(io.dy, this.arg, this.dconv, n, oh, ow, co, oh / 2, ow / 2);
    return this.dconv;
  }

  /** Runs the registered wasm kernel `name` with this layer's stride and padding into byte offset `out`. */
  private registered(name: string, inputs: Record<string, TensorInfo>, attrs: object, out: number): void {
    runRegistered(
      this.simd,
      this.backend,
      name,
      inputs,
      { ...this.attrs, dataFormat: 'NHWC', dimRoundingMode: null, ...attrs },
      out,
    );
  }

  gradients(): number[] {
    return this.bias ? [this.gKernel, this.gBias] : [this.gKernel];
  }
  dispose(): void {
    this.winoFilter?.dispose();
    this.folded?.dispose();
  }
}

/**
 * Whether an inference net's conv2d of geometry `g` (batch 1) and activation `act` can take the
 * 2×2/2 pooling after it: the direct kernel at stride 1 (`convPoolForward`), or the Winograd
 * kernel with its epilogue ({@link winogradEpilogueTakes}); an output of at least 2 × 2.
 */
export function inferPoolFits(g: ConvGeometry, act: NetActivation): boolean {
  if (g.oh < 2 || g.ow < 2) return false;
  const kernel = inferenceForwardKernel(g);
  return (
    (kernel === 'direct' && g.sh === 1 && g.sw === 1) ||
    (kernel === 'winograd' && winogradEpilogueTakes(g, act, true))
  );
}

/**
 * Whether a training net's conv2d of geometry `g` (batch 1) and activation `act` can take the
 * 2×2/2 max pooling right after it: the direct kernel at stride 1, relu or linear (whose
 * gradient at a window's maximum is the pooled value's), at least 4 channels and an even output
 * size (the argmax kernels' cases; a dropped odd row's NaN would reach the relu gradient), and
 * whole 4-byte groups of argmax per image (the helper threads' share of them). The 2×2/2
 * average pooling (`pool` 'avg'): the direct kernel at stride 1, at least 4 channels, an even
 * output size, any activation.
 */
export function trainPoolFits(g: ConvGeometry, act: NetActivation, pool: 'max' | 'avg' = 'max'): boolean {
  const { oh, ow, co, sh, sw } = g;
  // The registered input gradient reads io.dy's tensor info, the pooled gradient's: not fusable.
  const direct =
    trainPoolForwardKernel(g) === 'direct' && sh === 1 && sw === 1 && inputGradKernel(g) !== 'xnnpack';
  // Average: the activated conv output is kept whole, so any activation (and no argmax).
  if (pool === 'avg') return direct && co >= 4 && oh % 2 === 0 && ow % 2 === 0;
  return (
    direct &&
    (act === 'relu' || act === 'linear') &&
    co >= 4 &&
    oh % 2 === 0 &&
    ow % 2 === 0 &&
    ((oh / 2) * (ow / 2) * co) % 4 === 0
  );
}

/**
 * A direct conv2d (stride 1, up to `DIRECT_CONV_MAX_OUT_CHANNELS` output channels, or in
 * inference any number from a narrow input: `inferenceForwardKernel`) with the 2×2/2 pooling
 * after it in one kernel (`convPoolForward`): the conv's bias and activation, then the pooling,
 * bit for bit the two stages', writing only the pooled output. Inference: max or average
 * pooling, and the Winograd kernel's epilogue where {@link inferPoolFits}; training: max pooling
 * where {@link trainPoolFits}, keeping each window's argmax for the gradient instead of the conv
 * output, or average pooling, keeping the activated conv output (written from the registers the
 * pooling reads) for the activation's gradient. Its own class so that profiles name it.
 */
export class ConvPoolStage extends ConvStage {
  constructor(
    simd: SimdKernels,
    backend: BackendWasm,
    index: number,
    inShape: readonly number[],
    kernel: tf.Variable,
    bias: tf.Variable | undefined,
    padding: 'same' | 'valid',
    act: NetActivation,
    folded: BatchNormFold | null,
    pool: 'max' | 'avg',
    mode: NetMode = 'infer',
  ) {
    super(simd, backend, index, inShape, kernel, bias, [1, 1], padding, act, mode, folded, pool);
  }
}
