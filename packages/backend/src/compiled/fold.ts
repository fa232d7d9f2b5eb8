import { foldBatchNorm } from '@lenet/common';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type * as tf from '../tfjs.js';
import type { TensorInfo } from '../tfjs.js';
import type { SimdKernels } from '../wasm-kernels/simd.js';
import type { NetLayer } from './net-spec.js';

let fusion = globalThis.process?.env?.LENET_INFER_FUSION !== '0';

/**
 * Turns on or off (for A/B measurements) the compiled inference pass's graph fusion: a batch norm
 * right after a linear conv2d or dense layer folded into that layer's kernel and bias, and an
 * activation after a linear conv2d or dense layer (past a folded batch norm and pass-through layers
 * such as inference's dropout) run inside that layer. On: fewer passes over the activations, the
 * probabilities within float32 rounding of `model.predict`'s (a folded batch norm rounds
 * differently); off: one stage per layer, `model.predict`'s bit for bit. Read when a net is
 * compiled. `LENET_INFER_FUSION=0` starts with it off.
 */
export function setInferenceFusionEnabled(on: boolean): void {
  fusion = on;
}

/** Whether {@link setInferenceFusionEnabled} (or `LENET_INFER_FUSION`) leaves it on. */
export function inferenceFusionEnabled(): boolean {
  return fusion;
}

let convPool = globalThis.process?.env?.LENET_INFER_CONV_POOL !== '0';

/**
 * Turns on or off (for A/B measurements) one part of the inference pass's graph fusion (which
 * {@link setInferenceFusionEnabled} turns off whole): a direct stride-1 conv2d and the 2×2/2
 * pooling after it (past pass-through layers) run as one kernel that writes only the pooled
 * output, bit for bit the two stages'. Read when a net is compiled. `LENET_INFER_CONV_POOL=0`
 * starts with it off.
 */
export function setConvPoolFusionEnabled(on: boolean): void {
  convPool = on;
}

/** Whether {@link setConvPoolFusionEnabled} (or `LENET_INFER_CONV_POOL`) leaves it on. */
export function convPoolFusionEnabled(): boolean {
  return convPool;
}

let bnPool = globalThis.process?.env?.LENET_INFER_BN_POOL !== '0';

/**
 * Turns on or off (for A/B measurements) the inference pass's fusion of a batch norm that does not
 * fold (after an activation, Keras's order) with the 2×2/2 pooling after it: one pass normalises
 * and pools, without writing the normalised output (channels a multiple of 4). Read when a net
 * is compiled. `LENET_INFER_BN_POOL=0` starts with it off.
 */
export function setBatchNormPoolFusionEnabled(on: boolean): void {
  bnPool = on;
}

/** Whether {@link setBatchNormPoolFusionEnabled} (or `LENET_INFER_BN_POOL`) leaves it on. */
export function batchNormPoolFusionEnabled(): boolean {
  return bnPool;
}

let trainConvPool = globalThis.process?.env?.LENET_TRAIN_CONV_POOL !== '0';

/**
 * Turns on or off (for A/B measurements) the compiled training step's fusion of a direct
 * stride-1 conv2d (relu or linear, 4 to 16 output channels (`DIRECT_CONV_MAX_OUT_CHANNELS`),
 * an even output size) with the 2×2/2 max pooling right after it: the forward pass writes only
 * the pooled values and each window's argmax, the backward pass scatters the gradient to the
 * argmax, bit for bit the two stages'. Read when a net is compiled. `LENET_TRAIN_CONV_POOL=0`
 * starts with it off.
 */
export function setTrainConvPoolFusionEnabled(on: boolean): void {
  trainConvPool = on;
}

/** Whether {@link setTrainConvPoolFusionEnabled} (or `LENET_TRAIN_CONV_POOL`) leaves it on. */
export function trainConvPoolFusionEnabled(): boolean {
  return trainConvPool;
}

let trainConvAvgPool = globalThis.process?.env?.LENET_TRAIN_CONV_AVG_POOL !== '0';

/**
 * Turns on or off (for A/B measurements) the compiled training step's fusion of a direct
 * stride-1 conv2d (any activation, 4 to 16 output channels, an even output size) with the 2×2/2
 * average pooling right after it (classic LeNet-5's tanh convolutions): the forward pass writes
 * the pooled values and the activated conv output from the same registers, the backward pass
 * spreads the pooled gradient and applies tanh's gradient in one pass, bit for bit the two
 * stages'. Read when a net is compiled. `LENET_TRAIN_CONV_AVG_POOL=0` starts with it off.
 */
export function setTrainConvAvgPoolFusionEnabled(on: boolean): void {
  trainConvAvgPool = on;
}

/** Whether {@link setTrainConvAvgPoolFusionEnabled} (or `LENET_TRAIN_CONV_AVG_POOL`) leaves it on. */
export function trainConvAvgPoolFusionEnabled(): boolean {
  return trainConvAvgPool;
}

type BatchNormLayer = Extract<NetLayer, { type: 'batchNorm' }>;

/**
 * A conv2d or dense layer's kernel and bias with the inference-mode batch norm after it folded in
 * ({@link foldBatchNorm}), in tensors of the backend's own, folded again when any source changes.
 * The kernel and bias change by getting new data (an assign, the compiled training step: see
 * `PackedWeights`), so their data ids tell; the batch norm's variables are written in place (the
 * compiled training step updates the moving statistics and γ, β that way), so their values are
 * compared with those of the last fold (4 floats per channel). Each fold makes new tensors, so that
 * what keys on a tensor's data id (a Winograd filter transform, dense panels, XNNPACK's packed
 * weights) sees the change.
 */
export class BatchNormFold {
  private kernel: TensorInfo | null = null;
  private bias: TensorInfo | null = null;
  private ids: readonly unknown[] = [];
  private epsilon = Number.NaN;
  private readonly stats: Float32Array;
  private readonly c: number;

  constructor(
    private readonly simd: SimdKernels,
    private readonly backend: BackendWasm,
    private readonly source: { kernel: tf.Variable; bias: tf.Variable | undefined },
    private readonly bn: BatchNormLayer,
  ) {
    this.c = bn.movingMean.size;
    this.stats = new Float32Array(4 * this.c);
  }

  private statVars(): tf.Variable[] {
    const { gamma, beta, movingMean, movingVariance } = this.bn;
    return [gamma, beta, movingMean, movingVariance];
  }

  private current(): boolean {
    const { kernel, bias } = this.source;
    if (this.kernel === null || kernel.dataId !== this.ids[0] || bias?.dataId !== this.ids[1]) return false;
    if (this.bn.epsilon !== this.epsilon) return false;
    const { simd, c, stats } = this;
    let at = 0;
    for (const v of this.statVars()) {
      const now = simd.floats(simd.ptr(v), c);
      for (let k = 0; k < c; k++) if (now[k] !== stats[at++]) return false;
    }
    return true;
  }

  /** The folded kernel and bias as they are now (folded again first when a source changed). */
  get(): { kernel: TensorInfo; bias: TensorInfo } {
    if (!this.current()) this.fold();
    return { kernel: this.kernel as TensorInfo, bias: this.bias as TensorInfo };
  }

  private fold(): void {
    const { simd, c } = this;
    const { kernel, bias } = this.source;
    const read = (v: tf.Variable) => simd.floats(simd.ptr(v), v.size);
    const [gamma, beta, movingMean, movingVariance] = this.statVars().map(read);
    const epsilon = this.bn.epsilon;
    // Copies first: the views go stale when the allocations below grow the heap.
    const folded = foldBatchNorm(read(kernel), bias && read(bias), {
      gamma,
      beta,
      movingMean,
      movingVariance,
      epsilon,
    });
    this.stats.set(gamma, 0);
    this.stats.set(beta, c);
    this.stats.set(movingMean, 2 * c);
    this.stats.set(movingVariance, 3 * c);
    this.dispose();
    const out = (values: Float32Array, shape: number[]) => {
      const t = this.backend.makeOutput(shape, 'float32');
      simd.floats(simd.ptr(t), values.length).set(values);
      return t;
    };
    this.kernel = out(folded.kernel, kernel.shape as number[]);
    this.bias = out(folded.bias, [c]);
    this.ids = [kernel.dataId, bias?.dataId];
    this.epsilon = epsilon;
  }

  /** Frees the folded tensors (a later {@link get} folds again). */
  dispose(): void {
    for (const t of [this.kernel, this.bias]) if (t !== null) this.backend.disposeData(t.dataId);
    this.kernel = null;
    this.bias = null;
    this.ids = [];
  }
}
