import { foldBatchNorm } from '@lenet/common';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type * as tf from '../tfjs.js';
import type { TensorInfo } from '../tfjs.js';
import type { SimdKernels } from '../wasm-kernels/simd.js';
import type { NetActivation, NetLayer } from './net-spec.js';

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

/** What an inference stage of a conv2d or dense layer takes over from the layers after it. */
export interface Fused {
  /** A batch norm folded into the kernel and bias, and its index in the net. */
  bn?: { layer: BatchNormLayer; index: number };
  /** The activation run inside the layer (its own is linear). */
  act?: Exclude<NetActivation, 'linear'>;
  /** A conv2d's or an unfolded batch norm's 2×2/2 pooling run inside it, and its index in the net. */
  pool?: { op: 'max' | 'avg'; index: number };
  /** A training batch norm's dropout layer between it and its relu and pooling (read at every step). */
  dropout?: { readonly rate: number };
}

/** An inference net's layers after fusion: each kept layer with its index and what it took over. */
export interface FusionPlan {
  layers: { layer: NetLayer; index: number; fused: Fused }[];
}

/** Layers that are the identity in inference and keep the shape (a batch norm folds across them). */
function identity(layer: NetLayer): boolean {
  return layer.type === 'dropout' || (layer.type === 'activation' && layer.activation === 'linear');
}

/**
 * Whether conv2d `layer` may take the pooling after it: stride 1 (the direct kernel's
 * `convPoolForward`, or the Winograd kernel's epilogue; the net's stages check the kernel its
 * input size gives it, and run the pooling apart where that kernel cannot take it).
 */
function poolable(layer: Extract<NetLayer, { type: 'conv2d' }>): boolean {
  const [sh, sw] = layer.strides;
  return sh === 1 && sw === 1;
}

/** Whether `layer` pools 2×2 windows at stride 2 (always without padding). */
export function pool2x2(layer: NetLayer | undefined): layer is Extract<NetLayer, { type: 'pool' }> {
  return (
    layer?.type === 'pool' &&
    layer.size[0] === 2 &&
    layer.size[1] === 2 &&
    layer.strides[0] === 2 &&
    layer.strides[1] === 2
  );
}

/**
 * Which layers an inference net fuses: after a conv2d or dense layer with a linear activation
 * (not a softmax), the first batch norm past identity layers folds into it, and then the first
 * relu (or, after a conv2d, tanh) activation layer past pass-through layers (identities,
 * flatten) runs inside it. Then (unless {@link setConvPoolFusionEnabled} turned it off) a
 * 2×2/2 pooling right after a stride-1 conv2d and what it took over, past identity layers, runs
 * inside it too (the net's stages give it back to its own stage where the conv's kernel cannot
 * take it). A batch norm after an activation stays (it cannot fold into the layer before the
 * activation); a 2×2/2 pooling after it, past identity layers, runs inside it (unless
 * {@link setBatchNormPoolFusionEnabled} or {@link setConvPoolFusionEnabled} turned it off).
 */
export function fusionPlan(layers: readonly NetLayer[]): FusionPlan {
  const kept: FusionPlan['layers'] = [];
  const dropped = new Set<number>();
  layers.forEach((layer, index) => {
    if (dropped.has(index)) return;
    const fused: Fused = {};
    kept.push({ layer, index, fused });
    if (layer.type === 'batchNorm' && bnPool && convPool && layer.movingMean.size % 4 === 0) {
      takePool(layers, index, fused, dropped);
      return;
    }
    if (layer.type !== 'conv2d' && layer.type !== 'dense') return;
    const last = takeOver(layers, index, fused, dropped);
    if (layer.type === 'conv2d' && convPool && poolable(layer)) takePool(layers, last, fused, dropped);
  });
  return { layers: kept };
}

/** The 2×2/2 pooling after layer `last`, past identity layers, into `fused` (its index into `dropped`), if there is one. */
function takePool(layers: readonly NetLayer[], last: number, fused: Fused, dropped: Set<number>): void {
  let j = last + 1;
  while (j < layers.length && identity(layers[j])) j++;
  const pool = layers[j];
  if (pool2x2(pool)) {
    fused.pool = { op: pool.op, index: j };
    dropped.add(j);
  }
}

/**
 * The batch norm and activation that conv2d or dense layer `index` takes over (into `fused`,
 * their indices into `dropped`); returns the index of the last layer it took (its own when none).
 */
function takeOver(layers: readonly NetLayer[], index: number, fused: Fused, dropped: Set<number>): number {
  const layer = layers[index];
  if ((layer.type !== 'conv2d' && layer.type !== 'dense') || layer.activation !== 'linear') return index;
  let last = index;
  let j = index + 1;
  while (j < layers.length && identity(layers[j])) j++;
  const bn = layers[j];
  if (bn?.type === 'batchNorm') {
    fused.bn = { layer: bn, index: j };
    dropped.add(j);
    last = j;
    j++;
  }
  while (j < layers.length && (identity(layers[j]) || layers[j].type === 'flatten')) j++;
  const act = layers[j];
  // A dense layer runs a tanh apart from its product (the bias then added apart, rounded
  // otherwise than in the product a linear layer runs): only a relu joins it unchanged.
  const joins =
    layer.type === 'conv2d'
      ? act?.type === 'activation'
      : act?.type === 'activation' && act.activation === 'relu';
  if (joins && act.type === 'activation' && act.activation !== 'linear') {
    fused.act = act.activation;
    dropped.add(j);
    last = j;
  }
  return last;
}

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
