import type * as tf from '../tfjs.js';
import { dropoutMaskInto } from '../wasm-kernels/dropout.js';
import { rowSumBlockFloats, sumRows } from '../wasm-kernels/row-sums.js';
import { type SimdKernels, tileFloats } from '../wasm-kernels/simd.js';
import { runSplit, SPLIT_MIN_PASS_FLOATS } from '../wasm-kernels/split.js';
import { checkVariable, netSpecError } from './net-spec.js';
import { type NetMode, type Stage, type StageIO, type StepInfo, sizeOf, type Take } from './stage.js';

/**
 * Checks a batch norm layer's variables and settings against its input (per sample); returns its
 * channel count. Throws naming layer `index` when they do not fit.
 */
export function checkBatchNorm(
  index: number,
  inShape: readonly number[],
  v: Record<string, tf.Variable>,
  settings: { readonly momentum: number; readonly epsilon: number },
): number {
  const { momentum, epsilon } = settings;
  if (inShape.length === 0) netSpecError(index, 'batchNorm needs an input with a channel axis');
  const c = inShape[inShape.length - 1];
  for (const [what, t] of Object.entries(v)) checkVariable(index, `batchNorm ${what}`, t, [c]);
  if (!(momentum >= 0 && momentum <= 1) || !(epsilon > 0)) {
    netSpecError(index, `batchNorm needs momentum in [0, 1] and epsilon > 0, got ${momentum} and ${epsilon}`);
  }
  return c;
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

let varianceFused = globalThis.process?.env?.LENET_BN_VARIANCE !== '0';

/**
 * Turns on or off (for A/B measurements) the training batch norm's variance in one pass over its
 * input (`lenet_sum_sq_dev`, bit for bit the squares written out and summed). Read at every step.
 * `LENET_BN_VARIANCE=0` starts with it off.
 */
export function setBatchNormVarianceFusedEnabled(on: boolean): void {
  varianceFused = on;
}

let gradFused = globalThis.process?.env?.LENET_BN_GRAD !== '0';

/**
 * Turns on or off (for A/B measurements) the training batch norm's input gradient in three passes
 * without full-size scratch (sums, the variance path's sum, then dx from dy and x; bit for bit the
 * five passes through two scratch buffers). Read at every step. `LENET_BN_GRAD=0` starts with it off.
 */
export function setBatchNormGradFusedEnabled(on: boolean): void {
  gradFused = on;
}

let trainPool = globalThis.process?.env?.LENET_TRAIN_BN_POOL !== '0';

/**
 * Turns on or off (for A/B measurements) the compiled training step's fusion of a batch norm with
 * the 2×2/2 max pooling after it (and a relu between): one pass normalises, pools and keeps each
 * window's argmax, without the full-size output; the relu gradient then runs on the pooled size.
 * Read when a net is compiled. `LENET_TRAIN_BN_POOL=0` starts with it off.
 */
export function setTrainBatchNormPoolFusionEnabled(on: boolean): void {
  trainPool = on;
}

let poolGrad = globalThis.process?.env?.LENET_BN_POOL_GRAD !== '0';

/**
 * Turns on or off (for A/B measurements) the fused batch norm + max pooling's gradient scatter
 * run inside the batch-norm gradient's passes, a pair of input rows at a time (bit for bit): in
 * the sums' pass and again in the input gradient's, so that the full-size gradient at the batch
 * norm's output (¾ zeros) is neither written nor read. Off: a scatter pass of its own writes it.
 * Read at every step. `LENET_BN_POOL_GRAD=0` starts with it off.
 */
export function setBatchNormPoolGradFusedEnabled(on: boolean): void {
  poolGrad = on;
}

/** Whether {@link setTrainBatchNormPoolFusionEnabled} (or `LENET_TRAIN_BN_POOL`) leaves it on. */
export function trainBatchNormPoolFusionEnabled(): boolean {
  return trainPool;
}

/**
 * Whether a training batch norm on `inShape` (per sample) can take the 2×2/2 max pooling after it:
 * even height and width (every value in a window, so a NaN one is seen) and 4 or more channels
 * (`lenet_batch_norm_pool2_arg`).
 */
export function trainBatchNormPoolFits(inShape: readonly number[]): boolean {
  return inShape.length === 3 && inShape[0] % 2 === 0 && inShape[1] % 2 === 0 && inShape[2] >= 4;
}

/** Whether an inference batch norm on `inShape` (per sample) can take the 2×2/2 pooling after it. */
export function batchNormPoolFits(inShape: readonly number[], mode: NetMode): boolean {
  return (
    mode === 'infer' && inShape.length === 3 && inShape[0] >= 2 && inShape[1] >= 2 && inShape[2] % 4 === 0
  );
}

/**
 * Batch norm in training mode over the last axis, as tfjs-layers computes it: the batch mean and
 * (biased) variance with the kernels the registered Mean, Sub and Square run, the normalisation
 * of FusedBatchNorm (γ/√(σ² + ε) per channel in float64), and the moving averages updated as
 * `moving − (moving − batch)·(1 − momentum)` in float32 — so the statistics are bit for bit
 * tfjs's. Backward, the gradient the tape forms: FusedBatchNorm's (the fused kernel's two-sum
 * pass), then the paths through the variance (Mean, Square, Sub) and the mean (Mean), added in
 * the tape's order, each rounded to float32 where a tfjs kernel rounds it. A bias before a batch
 * norm has a gradient of exactly zero in exact arithmetic and of rounding noise in float32; Adam
 * turns that noise into steps of the size of the learning rate, so only the same noise keeps the
 * compiled and the autodiff steps on the same weights.
 * Inference normalises with the moving statistics as the registered FusedBatchNorm does.
 */
export class BatchNormStage implements Stage {
  readonly outShape: number[];
  readonly passThrough = false;
  private readonly c: number;
  private readonly perSample: number;
  private readonly t: number;
  private mean = 0;
  private variance = 0;
  private meanTile = 0;
  private grTile = 0;
  private betaTile = 0;
  private dvarTile = 0;
  private dmeanTile = 0;
  private tile = 0;
  private acc = 0;
  /** A split's block sums (sumRows; two sums a block for the pooled gradient's). */
  private blocks = 0;
  /** Where the threads of a split forward pass flag a NaN in a window (an int32). */
  private badFlag = 0;
  private work = 0;
  private sq = 0;
  private dxp = 0;
  private sumDy = 0;
  private sumDyXm = 0;
  private sumVarPath = 0;
  private gGamma = 0;
  private gBeta = 0;
  /** Training with the pooling fused: each window's argmax (bytes), the pooled gradient after the relu's. */
  private arg = 0;
  private pooledGrad = 0;
  /** ... the gradient at the batch norm's output, and its output when the step is redone unfused. */
  private fullGrad = 0;
  private full = 0;
  /** ... one pair of input rows of that gradient, scattered anew in each pass that reads it. */
  private pairGrad = 0;
  /** The fused dropout's mask, and whether this step drew one (a rate in (0, 1)). */
  private mask = 0;
  private masked = false;
  /** Whether this step's forward pass ran unfused (a NaN in a window), so the backward pass does. */
  private redone = false;
  /** 1/√(σ² + ε) of the last forward pass, per channel, in float64. */
  private r: Float64Array;

  constructor(
    private readonly simd: SimdKernels,
    index: number,
    private readonly inShape: readonly number[],
    private readonly v: {
      gamma: tf.Variable;
      beta: tf.Variable;
      movingMean: tf.Variable;
      movingVariance: tf.Variable;
    },
    /** Read at every forward pass, as tfjs-layers reads its layer's. */
    private readonly settings: { readonly momentum: number; readonly epsilon: number },
    private readonly mode: NetMode,
    /**
     * The 2×2/2 pooling after it, run in the same pass: inference `lenet_batch_norm_pool2`;
     * training (max only) `lenet_batch_norm_pool2_arg`, with the relu between when `relu`.
     */
    private readonly pool: 'max' | 'avg' | null = null,
    private readonly relu = false,
    /** Training: the dropout layer between it and the relu (its rate read at every step) and its index among the net's dropouts. */
    private readonly dropout: { layer: { readonly rate: number }; index: number } | null = null,
  ) {
    this.c = checkBatchNorm(index, inShape, v, settings);
    if (
      mode === 'train' &&
      (relu || pool !== null || dropout !== null) &&
      (pool !== 'max' || !trainBatchNormPoolFits(inShape) || (dropout !== null && !relu))
    ) {
      netSpecError(
        index,
        'batchNorm takes a max pooling (and relu) after it in training on [even h, even w, c ≥ 4]',
      );
    }
    if (mode === 'infer' && (relu || (pool !== null && !batchNormPoolFits(inShape, mode)))) {
      netSpecError(
        index,
        'batchNorm takes the pooling after it in inference on [h ≥ 2, w ≥ 2, c], c a multiple of 4',
      );
    }
    this.outShape =
      pool === null ? [...inShape] : [Math.floor(inShape[0] / 2), Math.floor(inShape[1] / 2), this.c];
    this.perSample = sizeOf(inShape);
    this.t = tileFloats(this.c);
    this.r = new Float64Array(this.c);
  }

  layout(n: number, take: Take): void {
    const { c, t } = this;
    if (this.mode === 'infer') {
      [this.meanTile, this.grTile, this.betaTile] = [t, t, t].map(take);
      return;
    }
    const total = n * this.perSample;
    this.mean = take(c);
    this.variance = take(c);
    [this.meanTile, this.grTile, this.betaTile, this.dvarTile, this.dmeanTile, this.tile, this.acc] = [
      t,
      t,
      t,
      t,
      t,
      t,
      t,
    ].map(take);
    this.work = take(4 * t);
    this.blocks = take(2 * rowSumBlockFloats(total / c, c, t));
    this.badFlag = take(1);
    this.sq = take(total);
    this.dxp = take(total);
    this.sumDy = take(c);
    this.sumDyXm = take(c);
    this.sumVarPath = take(c);
    this.gGamma = take(c);
    this.gBeta = take(c);
    if (this.pool !== null) {
      const pooled = n * sizeOf(this.outShape);
      this.arg = take(Math.ceil(pooled / 4));
      this.pooledGrad = take(pooled);
      this.fullGrad = take(total);
      this.pairGrad = take(2 * this.inShape[1] * this.c);
      // The squares' buffer: free once the variance is summed, and the gradient's relu reads the
      // redone output before the variance path (switched to scratch) writes there.
      this.full = this.sq;
      this.mask = this.dropout === null ? 0 : take(total);
    }
  }

  /** Fills a tile of t floats at `ptr` with per-channel values. */
  private fillTile(ptr: number, values: ArrayLike<number>): void {
    const tile = this.simd.floats(ptr, this.t);
    for (let k = 0; k < this.t; k++) tile[k] = values[k % this.c];
  }

  forward(io: StageIO, step: StepInfo): void {
    const { simd, c, t } = this;
    const f = simd.fn;
    const rows = step.n * (this.perSample / c);
    const total = rows * c;
    if (this.mode === 'infer') {
      this.inferenceForward(io, total);
      return;
    }
    const sums = { tile: this.tile, acc: this.acc, blocks: this.blocks };
    sumRows(simd, 'x', io.x, { mean: 0, dvar: 0 }, this.mean, rows, c, t, rows, sums);
    f.lenet_fill_tile(this.mean, this.meanTile, c, t);
    if (varianceFused) {
      const meanOnly = { mean: this.meanTile, dvar: 0 };
      sumRows(simd, 'squaredDeviation', io.x, meanOnly, this.variance, rows, c, t, rows, sums);
    } else {
      f.lenet_sq_dev(io.x, this.meanTile, this.sq, total, c, t);
      f.lenet_sum_rows(this.sq, this.variance, rows, c, t, rows, this.tile, this.acc);
    }
    const mean = simd.floats(this.mean, c);
    const variance = simd.floats(this.variance, c);
    const gamma = simd.floats(simd.ptr(this.v.gamma), c);
    const gr = new Float64Array(c);
    const { epsilon, momentum } = this.settings;
    for (let k = 0; k < c; k++) {
      this.r[k] = 1 / Math.sqrt(variance[k] + epsilon);
      gr[k] = gamma[k] / Math.sqrt(variance[k] + epsilon);
    }
    this.fillTile(this.grTile, gr);
    this.fillTile(this.betaTile, simd.floats(simd.ptr(this.v.beta), c));
    if (this.pool === null) {
      f.lenet_batch_norm(io.x, this.meanTile, this.grTile, this.betaTile, io.y, total, c, t);
    } else {
      this.poolForward(io, step, total);
    }
    const decay = Math.fround(1 - momentum);
    const movingMean = simd.floats(simd.ptr(this.v.movingMean), c);
    const movingVariance = simd.floats(simd.ptr(this.v.movingVariance), c);
    for (let k = 0; k < c; k++) {
      movingMean[k] = movingMean[k] - Math.fround(Math.fround(movingMean[k] - mean[k]) * decay);
      movingVariance[k] =
        movingVariance[k] - Math.fround(Math.fround(movingVariance[k] - variance[k]) * decay);
    }
  }

  /**
   * Training's normalisation, dropout, relu and max pooling in one pass; a NaN in a window (which
   * the relu gradient and the pool's NaN rule would see) redoes them as the unfused stages run them.
   */
  private poolForward(io: StageIO, step: StepInfo, total: number): void {
    const { simd, c, t, dropout } = this;
    const f = simd.fn;
    const n = step.n;
    const [ih, iw] = this.inShape;
    const [oh, ow] = this.outShape;
    const relu = this.relu ? 1 : 0;
    const { meanTile, grTile, betaTile } = this;
    // As DropoutStage: a rate outside (0, 1) is the identity.
    const rate = dropout === null ? 0 : dropout.layer.rate;
    this.masked = dropout !== null && rate > 0 && rate < 1;
    if (dropout !== null && this.masked) {
      dropoutMaskInto(simd, this.mask, total, rate, step.dropoutSeed(dropout.index));
    }
    const mask = this.masked ? this.mask : 0;
    const { arg, badFlag } = this;
    // Split by images where the heap is shared: every thread flags a NaN window in one int.
    const image = ih * iw * c;
    const pooled = oh * ow * c;
    simd.heap()[badFlag / 4] = 0;
    runSplit(simd, {
      fn: 'lenet_batch_norm_pool2_arg_flag',
      macs: total,
      minMacs: SPLIT_MIN_PASS_FLOATS,
      items: n,
      perItem: [],
      whole: [],
      out: { ptr: io.y, floats: pooled },
      inPlaceOnly: true,
      args: (p, count) => {
        const at = p.first;
        const m = mask === 0 ? 0 : mask + at * image * 4;
        const into = [
          io.x + at * image * 4,
          meanTile,
          grTile,
          betaTile,
          io.y + at * pooled * 4,
          arg + at * pooled,
        ];
        return into.concat([count, ih, iw, c, relu, m, badFlag]);
      },
    });
    this.redone = new Int32Array(simd.heap().buffer, badFlag, 1)[0] !== 0;
    if (!this.redone) return;
    f.lenet_batch_norm(io.x, meanTile, grTile, betaTile, this.full, total, c, t);
    if (this.masked) f.lenet_mul(this.full, this.mask, this.full, total);
    if (this.relu) f.lenet_relu(this.full, this.full, total);
    f.lenet_max_pool_2x2_arg(this.full, io.y, this.arg, n, ih, iw, c, oh, ow);
  }

  /**
   * The gradient at the batch norm's output from the pooled one: the relu's on the pooled values
   * (each window's maximum is its argmax's relu output, and the other values get +0 · step = +0),
   * then scattered through the argmax; redone unfused, the relu's on the full-size output after
   * the scatter, as the unfused stages run them.
   */
  private poolBackward(io: StageIO, n: number, total: number): number {
    const f = this.simd.fn;
    const [ih, iw, c] = this.inShape;
    const [oh, ow] = this.outShape;
    const pooled = n * oh * ow * c;
    let dy = io.dy;
    if (this.relu && !this.redone) {
      f.lenet_relu_grad(io.y, io.dy, this.pooledGrad, pooled);
      dy = this.pooledGrad;
    }
    f.lenet_max_pool_grad_2x2_arg(dy, this.arg, this.fullGrad, n, ih, iw, c, oh, ow);
    if (this.relu && this.redone) f.lenet_relu_grad(this.full, this.fullGrad, this.fullGrad, total);
    if (this.masked) f.lenet_mul(this.fullGrad, this.mask, this.fullGrad, total);
    return this.fullGrad;
  }

  /** FusedBatchNorm on the moving statistics, its per-channel factor γ/√(σ² + ε) in float64. */
  private inferenceForward(io: StageIO, total: number): void {
    const { simd, c, t } = this;
    const read = (v: tf.Variable) => simd.floats(simd.ptr(v), c);
    const movingVariance = read(this.v.movingVariance);
    const gamma = read(this.v.gamma);
    const { epsilon } = this.settings;
    const gr = new Float64Array(c);
    for (let k = 0; k < c; k++) gr[k] = gamma[k] / Math.sqrt(movingVariance[k] + epsilon);
    this.fillTile(this.meanTile, read(this.v.movingMean));
    this.fillTile(this.grTile, gr);
    this.fillTile(this.betaTile, read(this.v.beta));
    if (this.pool === null) {
      simd.fn.lenet_batch_norm(io.x, this.meanTile, this.grTile, this.betaTile, io.y, total, c, t);
      return;
    }
    const [ih, iw] = this.inShape;
    const [oh, ow] = this.outShape;
    const kind = this.pool === 'max' ? 0 : 1;
    const n = total / this.perSample;
    simd.fn.lenet_batch_norm_pool2(
      io.x,
      this.meanTile,
      this.grTile,
      this.betaTile,
      io.y,
      n,
      ih,
      iw,
      c,
      oh,
      ow,
      kind,
    );
  }

  backward(io: StageIO, step: StepInfo, needDx: boolean): void {
    const { simd, c, t, r } = this;
    const f = simd.fn;
    const rows = step.n * (this.perSample / c);
    const total = rows * c;
    const fused = gradFused;
    // With the pooling fused (and no NaN redo), the first pass scatters the pooled gradient itself.
    const scatterInPass = this.pool !== null && !this.redone && !this.masked && fused && poolGrad;
    // Channels in whole vectors: the gradient is scattered a pair of rows at a time in each pass
    // that reads it, never written full-size. With c = 6, scattering twice cost more than writing
    // and reading the full-size gradient (torch-bn b256: 2.7 against 2.2 ms on one thread).
    const pairPath = scatterInPass && c % 4 === 0;
    const dy =
      this.pool === null
        ? io.dy
        : scatterInPass
          ? pairPath
            ? this.pairGrad
            : this.fullGrad
          : this.poolBackward(io, step.n, total);
    // FusedBatchNorm's gradient: dx = dy·γr (formed in the last pass when fused), and the
    // per-channel sums for the rest.
    if (pairPath) {
      this.pooledGradientSums(io, step.n);
    } else if (scatterInPass) {
      const [ih, iw] = this.inShape;
      const { meanTile, sumDy, sumDyXm, work } = this;
      const pooledOut = this.relu ? io.y : 0;
      f.lenet_batch_norm_grad_pool2(
        io.x,
        io.dy,
        pooledOut,
        this.arg,
        meanTile,
        dy,
        1,
        sumDy,
        sumDyXm,
        step.n,
        ih,
        iw,
        c,
        t,
        work,
      );
    } else {
      f.lenet_batch_norm_grad(
        io.x,
        dy,
        this.meanTile,
        this.grTile,
        fused || !needDx ? 0 : this.dxp,
        this.sumDy,
        this.sumDyXm,
        total,
        c,
        t,
        this.work,
      );
    }
    const sumDy = simd.floats(this.sumDy, c);
    const sumDyXm = simd.floats(this.sumDyXm, c);
    const gGamma = simd.floats(this.gGamma, c);
    const gBeta = simd.floats(this.gBeta, c);
    const gamma = simd.floats(simd.ptr(this.v.gamma), c);
    const dmean = new Float32Array(c);
    const dvarN = new Float32Array(c);
    for (let k = 0; k < c; k++) {
      const g = gamma[k];
      gGamma[k] = r[k] * sumDyXm[k];
      gBeta[k] = sumDy[k];
      dmean[k] = -g * r[k] * sumDy[k];
      // variance = Mean(devSquared): its gradient spread over the rows and divided by their count.
      dvarN[k] = Math.fround(-0.5 * g * r[k] * r[k] * r[k] * sumDyXm[k]) / rows;
    }
    if (!needDx) return;
    this.fillTile(this.dvarTile, dvarN);
    // Square's and Sub's gradient (the variance path to x), and its sum for Sub's mean input.
    if (fused) {
      const sums = { tile: this.tile, acc: this.acc, blocks: this.blocks };
      const terms = { mean: this.meanTile, dvar: this.dvarTile };
      sumRows(simd, 'varianceGradient', io.x, terms, this.sumVarPath, rows, c, t, 1, sums);
    } else {
      f.lenet_bn_var_grad(io.x, this.meanTile, this.dvarTile, this.sq, total, c, t);
      f.lenet_sum_rows(this.sq, this.sumVarPath, rows, c, t, 1, this.tile, this.acc);
    }
    const sumVarPath = simd.floats(this.sumVarPath, c);
    const dmeanN = new Float32Array(c);
    // The mean's gradient (FusedBatchNorm's, then Sub's), through Mean's: divided by the rows.
    for (let k = 0; k < c; k++) dmeanN[k] = Math.fround(dmean[k] + -sumVarPath[k]) / rows;
    this.fillTile(this.dmeanTile, dmeanN);
    if (pairPath) {
      this.pooledInputGradient(io, step.n);
    } else if (fused) {
      const { meanTile, grTile, dvarTile, dmeanTile } = this;
      f.lenet_bn_dx_fused(io.x, dy, meanTile, grTile, dvarTile, dmeanTile, io.dx, total, c, t);
    } else {
      f.lenet_bn_dx_sum(this.dxp, this.sq, this.dmeanTile, io.dx, total, c, t);
    }
  }

  gradients(): number[] {
    return [this.gGamma, this.gBeta];
  }

  /**
   * The batch-norm gradient's sums (Σ dy, Σ dy·(x − mean)) from the pooled gradient, scattered a
   * pair of input rows at a time. Where tfjs's heap is shared, the threads sum groups of pairs
   * that start at a block of 64 tiles into block sums, added up in order afterwards: bit for bit
   * `lenet_batch_norm_grad_pool2`'s sums.
   */
  private pooledGradientSums(io: StageIO, n: number): void {
    const { simd, c, t, arg, meanTile, pairGrad, blocks, sumDy, sumDyXm, work } = this;
    const f = simd.fn;
    const [ih, iw] = this.inShape;
    const p = this.relu ? io.y : 0;
    const total = n * ih * iw * c;
    if (!simd.shared || total < SPLIT_MIN_PASS_FLOATS) {
      f.lenet_batch_norm_grad_pool2(
        io.x,
        io.dy,
        p,
        arg,
        meanTile,
        pairGrad,
        0,
        sumDy,
        sumDyXm,
        n,
        ih,
        iw,
        c,
        t,
        work,
      );
      return;
    }
    const pairs = (n * ih) / 2;
    const perPair = (2 * iw * c) / t;
    const group = 64 / gcd(64, perPair);
    runSplit(simd, {
      fn: 'lenet_bn_grad_pool2_blocks',
      macs: total,
      minMacs: SPLIT_MIN_PASS_FLOATS,
      items: Math.ceil(pairs / group),
      perItem: [],
      whole: [],
      out: { ptr: blocks, floats: 2 * t },
      scratch: { ptr: pairGrad, floats: 2 * iw * c },
      inPlaceOnly: true,
      args: (a, count) => {
        const first = a.first * group;
        const sums = blocks + ((first * perPair) / 64) * 2 * t * 4;
        return [
          io.x,
          io.dy,
          p,
          arg,
          meanTile,
          a.scratch,
          sums,
          first,
          Math.min(count * group, pairs - first),
        ].concat([iw, c, t]);
      },
    });
    f.lenet_fold_bn_grad_blocks(blocks, Math.ceil((pairs * perPair) / 64), sumDy, sumDyXm, c, t, work);
  }

  /** The input gradient from the pooled gradient scattered anew (`lenet_bn_dx_pool2`), split by images. */
  private pooledInputGradient(io: StageIO, n: number): void {
    const { simd, c, t, arg, meanTile, grTile, dvarTile, dmeanTile } = this;
    const [ih, iw] = this.inShape;
    const [oh, ow] = this.outShape;
    const p = this.relu ? io.y : 0;
    const image = ih * iw * c;
    const pooled = oh * ow * c;
    runSplit(simd, {
      fn: 'lenet_bn_dx_pool2',
      macs: n * image,
      minMacs: SPLIT_MIN_PASS_FLOATS,
      items: n,
      perItem: [],
      whole: [],
      out: { ptr: io.dx, floats: image },
      scratch: { ptr: this.pairGrad, floats: 2 * iw * c },
      inPlaceOnly: true,
      args: (a, count) => {
        const at = a.first;
        const pAt = p === 0 ? 0 : p + at * pooled * 4;
        return [
          io.x + at * image * 4,
          io.dy + at * pooled * 4,
          pAt,
          arg + at * pooled,
          meanTile,
          grTile,
        ].concat([dvarTile, dmeanTile, io.dx + at * image * 4, a.scratch, count, ih, iw, c, t]);
      },
    });
  }
}
