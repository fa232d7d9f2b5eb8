import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { dropoutMaskInto } from '../wasm-kernels/dropout.js';
import { pool2x2, poolGrad2x2, poolKeepsArgmax } from '../wasm-kernels/pool-util.js';
import type { SimdKernels } from '../wasm-kernels/simd.js';
import { TANH_NUMERATOR } from '../wasm-kernels/tanh.js';
import { activationGradient } from './activation.js';
import { type NetActivation, netSpecError } from './net-spec.js';
import { runRegistered } from './registered.js';
import { type NetMode, type Stage, type StageIO, type StepInfo, sizeOf, type Take } from './stage.js';

/** A layer that changes nothing in memory: flatten, a linear activation. */
export class PassThroughStage implements Stage {
  readonly passThrough = true;
  constructor(readonly outShape: number[]) {}
  layout(): void {}
  forward(): void {}
  backward(): void {}
  gradients(): number[] {
    return [];
  }
}

/**
 * Max or average pooling without padding. Forward: the 2×2/2 SIMD kernel the registered MaxPool
 * and AvgPool run, or a plain loop for other windows; backward: the MaxPoolGrad (first maximum
 * of each window) and AvgPoolGrad kernels. Inference averages other windows with the registered
 * AvgPool (XNNPACK's, whose rounding the loop's differs from), as `predict` does. Training's
 * 2×2/2 max pooling of big inputs keeps each window's argmax for the gradient (see
 * `setPoolArgmaxMinFloats`).
 */
export class PoolStage implements Stage {
  readonly outShape: number[];
  readonly passThrough = false;
  private readonly geometry: { ih: number; iw: number; c: number; oh: number; ow: number };
  /** Each window's first maximum (a byte per output value), or 0 when not kept (see layout). */
  private arg = 0;
  private argWritten = false;

  constructor(
    private readonly simd: SimdKernels,
    private readonly backend: BackendWasm,
    index: number,
    inShape: readonly number[],
    private readonly op: 'max' | 'avg',
    private readonly size: [number, number],
    private readonly strides: [number, number],
    private readonly mode: NetMode,
  ) {
    if (inShape.length !== 3)
      netSpecError(index, `pool needs an [h, w, c] input, got [${inShape.join(', ')}]`);
    const [ih, iw, c] = inShape;
    const [fh, fw] = size;
    const [sh, sw] = strides;
    if (![fh, fw, sh, sw].every((d) => Number.isInteger(d) && d >= 1)) {
      netSpecError(index, `pool size and strides must be positive integers, got ${size} and ${strides}`);
    }
    // 'valid': tfjs's output size for unpadded windows.
    const oh = Math.floor((ih - fh) / sh) + 1;
    const ow = Math.floor((iw - fw) / sw) + 1;
    if (oh < 1 || ow < 1) netSpecError(index, `pool output is empty (${oh}x${ow})`);
    this.geometry = { ih, iw, c, oh, ow };
    this.outShape = [oh, ow, c];
  }

  layout(n: number, take: Take): void {
    const { c, oh, ow } = this.geometry;
    // Taken whatever the size (a sixteenth of the input), so that the switch can move later.
    this.arg = this.argmaxCase() && c >= 4 ? take(Math.ceil((n * oh * ow * c) / 4)) : 0;
  }

  /** Training's 2×2/2 max pooling: the case that may keep each window's argmax for the gradient. */
  private argmaxCase(): boolean {
    const [fh, fw] = this.size;
    const [sh, sw] = this.strides;
    return this.mode === 'train' && this.op === 'max' && fh === 2 && fw === 2 && sh === 2 && sw === 2;
  }

  forward(io: StageIO, step: StepInfo): void {
    const { ih, iw, c, oh, ow } = this.geometry;
    const [fh, fw] = this.size;
    const [sh, sw] = this.strides;
    const kind = this.op === 'max' ? 0 : 1;
    // Read at every call (the switches may change between steps); the gradient uses the argmax
    // only when this step's forward pass wrote it.
    this.argWritten = this.arg !== 0 && poolKeepsArgmax(step.n * ih * iw * c, c);
    if (this.argWritten) {
      this.simd.fn.lenet_max_pool_2x2_arg(io.x, io.y, this.arg, step.n, ih, iw, c, oh, ow);
    } else if (fh === 2 && fw === 2 && sh === 2 && sw === 2) {
      pool2x2(this.simd, io.x, io.y, { n: step.n, ih, iw, c, oh, ow }, kind);
    } else if (this.mode === 'infer' && this.op === 'avg') {
      const attrs = { filterSize: this.size, strides: this.strides, pad: 'valid', dimRoundingMode: null };
      runRegistered(this.simd, this.backend, 'AvgPool', { x: io.xInfo }, attrs, io.y);
    } else {
      this.simd.fn.lenet_pool(io.x, io.y, step.n, ih, iw, c, oh, ow, sh, sw, fh, fw, kind);
    }
  }

  backward(io: StageIO, step: StepInfo, needDx: boolean): void {
    if (!needDx) return;
    const { ih, iw, c, oh, ow } = this.geometry;
    const [fh, fw] = this.size;
    const [sh, sw] = this.strides;
    if (this.argWritten) {
      this.simd.fn.lenet_max_pool_grad_2x2_arg(io.dy, this.arg, io.dx, step.n, ih, iw, c, oh, ow);
      return;
    }
    if (fh === 2 && fw === 2 && sh === 2 && sw === 2) {
      poolGrad2x2(this.simd, io.dy, io.x, io.dx, { n: step.n, ih, iw, c, oh, ow }, this.op === 'max' ? 0 : 1);
      return;
    }
    const g = [step.n, ih, iw, c, oh, ow, sh, sw, fh, fw, 0, 0] as const;
    if (this.op === 'max') this.simd.fn.lenet_max_pool_grad(io.dy, io.x, io.dx, ...g);
    else this.simd.fn.lenet_avg_pool_grad(io.dy, io.dx, ...g, 1 / (fh * fw));
  }

  gradients(): number[] {
    return [];
  }
}

/**
 * Dropout in training: the mask tfjs would draw for the layer's seed of this step (the same
 * generator and float32 arithmetic, see dropout.ts), kept for the backward pass. The rate is read
 * at every step; outside (0, 1) the layer is the identity, as tfjs-layers' Dropout.
 */
export class DropoutStage implements Stage {
  readonly outShape: number[];
  readonly passThrough = false;
  private readonly perSample: number;
  private mask = 0;
  /** Whether the last forward pass drew a mask. */
  private masked = false;

  constructor(
    private readonly simd: SimdKernels,
    inShape: readonly number[],
    private readonly layer: { readonly rate: number },
    /** Which dropout layer of the net this is (its seed's index). */
    private readonly dropoutIndex: number,
  ) {
    this.outShape = [...inShape];
    this.perSample = sizeOf(inShape);
  }

  layout(n: number, take: Take): void {
    this.mask = take(n * this.perSample);
  }

  forward(io: StageIO, step: StepInfo): void {
    const total = step.n * this.perSample;
    const { rate } = this.layer;
    this.masked = rate > 0 && rate < 1;
    if (!this.masked) {
      this.simd.heap().copyWithin(io.y / 4, io.x / 4, io.x / 4 + total);
      return;
    }
    dropoutMaskInto(this.simd, this.mask, total, rate, step.dropoutSeed(this.dropoutIndex));
    this.simd.fn.lenet_mul(io.x, this.mask, io.y, total);
  }

  backward(io: StageIO, step: StepInfo, needDx: boolean): void {
    if (!needDx) return;
    const total = step.n * this.perSample;
    if (this.masked) this.simd.fn.lenet_mul(io.dy, this.mask, io.dx, total);
    else this.simd.heap().copyWithin(io.dx / 4, io.dy / 4, io.dy / 4 + total);
  }

  gradients(): number[] {
    return [];
  }
}

/** A relu or tanh layer of its own (the gradient is taken from its output). */
export class ActivationStage implements Stage {
  readonly outShape: number[];
  readonly passThrough = false;
  private readonly perSample: number;

  constructor(
    private readonly simd: SimdKernels,
    inShape: readonly number[],
    private readonly act: Exclude<NetActivation, 'linear'>,
  ) {
    this.outShape = [...inShape];
    this.perSample = sizeOf(inShape);
  }

  layout(): void {}

  forward(io: StageIO, step: StepInfo): void {
    const total = step.n * this.perSample;
    if (this.act === 'relu') this.simd.fn.lenet_relu(io.x, io.y, total);
    else this.simd.fn.lenet_tanh(io.x, io.y, total, ...TANH_NUMERATOR);
  }

  backward(io: StageIO, step: StepInfo, needDx: boolean): void {
    if (!needDx) return;
    activationGradient(this.simd, this.act, io.y, io.dy, io.dx, step.n * this.perSample);
  }

  gradients(): number[] {
    return [];
  }
}

/** Zero padding of the spatial axes (tfjs's Pad); backward, the crop of the gradient (Pad's gradient, a slice). */
export class ZeroPadStage implements Stage {
  readonly outShape: number[];
  readonly passThrough = false;
  private readonly geometry: {
    h: number;
    w: number;
    c: number;
    hp: number;
    wp: number;
    top: number;
    left: number;
  };

  constructor(
    private readonly simd: SimdKernels,
    index: number,
    inShape: readonly number[],
    padding: [[number, number], [number, number]],
  ) {
    if (inShape.length !== 3)
      netSpecError(index, `zeroPad needs an [h, w, c] input, got [${inShape.join(', ')}]`);
    const [[top, bottom], [left, right]] = padding;
    if (![top, bottom, left, right].every((p) => Number.isInteger(p) && p >= 0)) {
      netSpecError(index, `zeroPad padding must be non-negative integers, got ${JSON.stringify(padding)}`);
    }
    const [h, w, c] = inShape;
    const hp = h + top + bottom;
    const wp = w + left + right;
    this.geometry = { h, w, c, hp, wp, top, left };
    this.outShape = [hp, wp, c];
  }

  layout(): void {}

  forward(io: StageIO, step: StepInfo): void {
    const { h, w, c, hp, wp, top, left } = this.geometry;
    this.simd.fn.lenet_pad_nhwc(io.x, io.y, step.n, h, w, c, hp, wp, top, left);
  }

  backward(io: StageIO, step: StepInfo, needDx: boolean): void {
    if (!needDx) return;
    const { h, w, c, hp, wp, top, left } = this.geometry;
    this.simd.fn.lenet_crop_nhwc(io.dy, io.dx, step.n, h, w, c, hp, wp, top, left);
  }

  gradients(): number[] {
    return [];
  }
}

/**
 * Global average pooling (tfjs-layers' GlobalAveragePooling2D: Mean over axes 1 and 2). Forward:
 * the registered Mean kernel itself (its transpose and float32 running sum, so the same rounding);
 * backward: Mean's gradient as the tape forms it, dy broadcast over the pixels and divided by
 * their count in float32.
 */
export class GlobalAvgPoolStage implements Stage {
  readonly outShape: number[];
  readonly passThrough = false;
  private readonly pixels: number;
  private readonly c: number;

  constructor(
    private readonly simd: SimdKernels,
    private readonly backend: BackendWasm,
    index: number,
    inShape: readonly number[],
  ) {
    if (inShape.length !== 3)
      netSpecError(index, `globalAvgPool needs an [h, w, c] input, got [${inShape.join(', ')}]`);
    const [h, w, c] = inShape;
    this.pixels = h * w;
    this.c = c;
    this.outShape = [c];
  }

  layout(): void {}

  forward(io: StageIO): void {
    runRegistered(this.simd, this.backend, 'Mean', { x: io.xInfo }, { axis: [1, 2], keepDims: false }, io.y);
  }

  backward(io: StageIO, step: StepInfo, needDx: boolean): void {
    if (!needDx) return;
    const { pixels, c } = this;
    const dy = this.simd.floats(io.dy, step.n * c);
    const dx = this.simd.floats(io.dx, step.n * pixels * c);
    const row = new Float32Array(c);
    for (let b = 0; b < step.n; b++) {
      for (let k = 0; k < c; k++) row[k] = dy[b * c + k] / pixels;
      for (let p = 0; p < pixels; p++) dx.set(row, (b * pixels + p) * c);
    }
  }

  gradients(): number[] {
    return [];
  }
}
