import { convGeometry, convInfo } from '../wasm-kernels/conv-util.js';
import {
  batchNormPoolFits,
  trainBatchNormPoolFits,
  trainBatchNormPoolFusionEnabled,
} from './batch-norm-stage.js';
import { inferPoolFits, trainPoolFits } from './conv-stage.js';
import {
  batchNormPoolFusionEnabled,
  convPoolFusionEnabled,
  inferenceFusionEnabled,
  trainConvAvgPoolFusionEnabled,
  trainConvPoolFusionEnabled,
} from './fold.js';
import type { NetActivation, NetLayer } from './net-spec.js';
import type { NetMode } from './stage.js';

type BatchNormLayer = Extract<NetLayer, { type: 'batchNorm' }>;
type ConvLayer = Extract<NetLayer, { type: 'conv2d' }>;
type PoolLayer = Extract<NetLayer, { type: 'pool' }>;

/** What the stage of a conv2d, dense or batch-norm layer takes over from the layers after it. */
export interface Fused {
  /** A batch norm folded into the kernel and bias, and its index in the net. */
  bn?: { layer: BatchNormLayer; index: number };
  /** The activation run inside the layer (its own is linear). */
  act?: Exclude<NetActivation, 'linear'>;
  /** A conv2d's or a batch norm's 2×2/2 pooling run inside it, and its index in the net. */
  pool?: { op: 'max' | 'avg'; index: number };
  /** A training batch norm's dropout layer between it and its relu and pooling (read at every step). */
  dropout?: { readonly rate: number };
}

/** What one layer's stage takes over: the fusion, and the indices of the layers it takes. */
export interface LayerFusion {
  fused: Fused;
  taken: number[];
}

/** A net's layers after fusion: each kept layer with its index and what it took over. */
export interface FusionPlan {
  layers: { layer: NetLayer; index: number; fused: Fused }[];
}

/**
 * One fusion pattern. `match` reads only layer types and attributes: the layers it would take
 * over from layer `index` (past `last`, the last layer earlier rules of this layer took), or null.
 * `fits` then asks whether the kernels that layer's stage would run at its input size can run
 * the fusion (a stage whose kernel cannot take it runs the layers apart).
 */
interface Rule {
  /** What it fuses. */
  readonly name: string;
  readonly mode: NetMode;
  /** Its switch (read when a net is compiled). */
  on(): boolean;
  match(layers: readonly NetLayer[], index: number, last: number, fused: Fused): LayerFusion | null;
  fits(layer: NetLayer, inShape: readonly number[], fused: Fused): boolean;
}

/** Layers that are the identity in inference and keep the shape (a batch norm folds across them). */
function identity(layer: NetLayer): boolean {
  return layer.type === 'dropout' || (layer.type === 'activation' && layer.activation === 'linear');
}

/** Whether `layer` pools 2×2 windows at stride 2 (always without padding). */
function isPool2x2(layer: NetLayer | undefined): layer is PoolLayer {
  return (
    layer?.type === 'pool' &&
    layer.size[0] === 2 &&
    layer.size[1] === 2 &&
    layer.strides[0] === 2 &&
    layer.strides[1] === 2
  );
}

/** The first index from `from` that is not an identity layer. */
function pastIdentities(layers: readonly NetLayer[], from: number): number {
  let j = from;
  while (j < layers.length && identity(layers[j])) j++;
  return j;
}

/** The 2×2/2 pooling after layer `last`, past identity layers, if there is one. */
function poolAfter(layers: readonly NetLayer[], last: number): LayerFusion | null {
  const j = pastIdentities(layers, last + 1);
  const pool = layers[j];
  return isPool2x2(pool) ? { fused: { pool: { op: pool.op, index: j } }, taken: [j] } : null;
}

/**
 * Inference: after a conv2d or dense layer with a linear activation (not a softmax), the first
 * batch norm past identity layers folds into it, and then the first relu (or, after a conv2d,
 * tanh) activation layer past pass-through layers (identities, flatten) runs inside it. A batch
 * norm after an activation stays (it cannot fold into the layer before the activation).
 */
function foldAndActivation(layers: readonly NetLayer[], index: number): LayerFusion | null {
  const layer = layers[index];
  if ((layer.type !== 'conv2d' && layer.type !== 'dense') || layer.activation !== 'linear') return null;
  const fused: Fused = {};
  const taken: number[] = [];
  let j = pastIdentities(layers, index + 1);
  const bn = layers[j];
  if (bn?.type === 'batchNorm') {
    fused.bn = { layer: bn, index: j };
    taken.push(j);
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
    taken.push(j);
  }
  return taken.length > 0 ? { fused, taken } : null;
}

/** The conv2d geometry of `layer` at input `inShape` (batch 1), or undefined where its stage will report a mismatch. */
function geometryOf(layer: ConvLayer, inShape: readonly number[]) {
  if (inShape.length !== 3 || layer.kernel.rank !== 4) return undefined;
  const [h, w, ci] = inShape;
  const [kh, kw, kci, co] = layer.kernel.shape as [number, number, number, number];
  if (kci !== ci) return undefined;
  return convGeometry(
    convInfo([1, h, w, ci], [kh, kw, ci, co], { strides: layer.strides, pad: layer.padding }),
  );
}

/** A training conv2d followed right away by a 2×2/2 pooling of `op`. */
function trainConvPool(op: 'max' | 'avg'): Rule['match'] {
  return (layers, index) => {
    const pool = layers[index + 1];
    return layers[index].type === 'conv2d' && isPool2x2(pool) && pool.op === op
      ? { fused: { pool: { op, index: index + 1 } }, taken: [index + 1] }
      : null;
  };
}

/** Every fusion the compiled nets make, in the order they are tried on a layer. */
const RULES: readonly Rule[] = [
  {
    name: 'conv2d or dense + folded batch norm + activation',
    mode: 'infer',
    on: inferenceFusionEnabled,
    match: foldAndActivation,
    // The stage checks the batch norm's variables against its output channels.
    fits: () => true,
  },
  {
    name: 'stride-1 conv2d + 2×2/2 pooling (past identity layers)',
    mode: 'infer',
    on: () => inferenceFusionEnabled() && convPoolFusionEnabled(),
    match: (layers, index, last) => {
      const layer = layers[index];
      return layer.type === 'conv2d' && layer.strides[0] === 1 && layer.strides[1] === 1
        ? poolAfter(layers, last)
        : null;
    },
    fits: (layer, inShape, fused) => {
      if (layer.type !== 'conv2d') return false;
      const g = geometryOf(layer, inShape);
      // A mismatch is the stage's to report.
      return g === undefined || inferPoolFits(g, fused.act ?? layer.activation);
    },
  },
  {
    name: 'batch norm + 2×2/2 pooling (past identity layers)',
    mode: 'infer',
    on: () => inferenceFusionEnabled() && batchNormPoolFusionEnabled() && convPoolFusionEnabled(),
    match: (layers, index) => {
      const layer = layers[index];
      return layer.type === 'batchNorm' && layer.movingMean.size % 4 === 0 ? poolAfter(layers, index) : null;
    },
    fits: (_layer, inShape) => batchNormPoolFits(inShape, 'infer'),
  },
  {
    name: 'batch norm + [dropout + relu | relu] + 2×2/2 max pooling',
    mode: 'train',
    on: trainBatchNormPoolFusionEnabled,
    match: (layers, index) => {
      if (layers[index].type !== 'batchNorm') return null;
      let j = index + 1;
      const dropout = layers[j]?.type === 'dropout' ? layers[j++] : undefined;
      const act = layers[j];
      const relu = act?.type === 'activation' && act.activation === 'relu';
      const at = relu ? j + 1 : j;
      const pool = layers[at];
      if ((!relu && dropout !== undefined) || !isPool2x2(pool) || pool.op !== 'max') return null;
      const fused: Fused = { pool: { op: 'max', index: at } };
      if (relu) fused.act = 'relu';
      if (dropout?.type === 'dropout') fused.dropout = dropout;
      const taken: number[] = [];
      for (let k = index + 1; k <= at; k++) taken.push(k);
      return { fused, taken };
    },
    fits: (_layer, inShape) => trainBatchNormPoolFits(inShape),
  },
  {
    name: 'conv2d + 2×2/2 max pooling',
    mode: 'train',
    on: trainConvPoolFusionEnabled,
    match: trainConvPool('max'),
    fits: (layer, inShape) => trainConvPoolFits(layer, inShape, 'max'),
  },
  {
    name: 'conv2d + 2×2/2 average pooling',
    mode: 'train',
    on: trainConvAvgPoolFusionEnabled,
    match: trainConvPool('avg'),
    fits: (layer, inShape) => trainConvPoolFits(layer, inShape, 'avg'),
  },
];

/** Whether a training net's conv2d `layer` with input `inShape` takes the pooling `op` after it ({@link trainPoolFits}). */
function trainConvPoolFits(layer: NetLayer, inShape: readonly number[], op: 'max' | 'avg'): boolean {
  if (layer.type !== 'conv2d') return false;
  const g = geometryOf(layer, inShape);
  return g !== undefined && g.oh >= 2 && g.ow >= 2 && trainPoolFits(g, layer.activation, op);
}

/**
 * What layer `index` of a `mode` net takes over from the layers after it: each rule that is on
 * and matches, in order, where the kernels at input `inShape` (per sample) can run it. Without
 * `inShape`, by layer types and attributes alone (what the plan would fuse at some input size).
 */
export function fuseAt(
  layers: readonly NetLayer[],
  index: number,
  mode: NetMode,
  inShape?: readonly number[],
): LayerFusion {
  const fused: Fused = {};
  const taken: number[] = [];
  for (const rule of RULES) {
    if (rule.mode !== mode || !rule.on()) continue;
    const last = taken.length > 0 ? Math.max(...taken) : index;
    const found = rule.match(layers, index, last, fused);
    if (found === null) continue;
    const merged = { ...fused, ...found.fused };
    if (inShape !== undefined && !rule.fits(layers[index], inShape, merged)) continue;
    Object.assign(fused, found.fused);
    taken.push(...found.taken);
  }
  return { fused, taken };
}

/** The fusion plan of `layers` in a `mode` net by layer types alone ({@link fuseAt} without input sizes). */
export function fusionPlan(layers: readonly NetLayer[], mode: NetMode): FusionPlan {
  const kept: FusionPlan['layers'] = [];
  const taken = new Set<number>();
  layers.forEach((layer, index) => {
    if (taken.has(index)) return;
    const plan = fuseAt(layers, index, mode);
    for (const t of plan.taken) taken.add(t);
    kept.push({ layer, index, fused: plan.fused });
  });
  return { layers: kept };
}
