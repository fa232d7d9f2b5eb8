import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import * as tf from '../tfjs.js';
import { type SimdKernels, simdKernels } from '../wasm-kernels/simd.js';
import { BatchNormStage, checkBatchNorm } from './batch-norm-stage.js';
import { ConvPoolStage, ConvStage } from './conv-stage.js';
import { DenseStage } from './dense-stage.js';
import { BatchNormFold } from './fold.js';
import { type Fused, fuseAt } from './fusion.js';
import { type NetLayer, type NetSpec, netSpecError } from './net-spec.js';
import {
  ActivationStage,
  DropoutStage,
  GlobalAvgPoolStage,
  PassThroughStage,
  PoolStage,
  ZeroPadStage,
} from './simple-stages.js';
import { type NetMode, type Stage, sizeOf } from './stage.js';

/** Whether a layer has weights (a layer before it then needs its input gradient in training). */
export function hasWeights(layer: NetLayer): boolean {
  return layer.type === 'conv2d' || layer.type === 'dense' || layer.type === 'batchNorm';
}

/**
 * A conv2d or dense layer's weights with `fused`'s batch norm folded in (its variables checked
 * against the layer's output channels `channels`, as its own stage would check them), or null
 * when it has none.
 */
function folded(
  simd: SimdKernels,
  backend: BackendWasm,
  layer: { kernel: tf.Variable; bias?: tf.Variable },
  channels: number[],
  fused: Fused,
): BatchNormFold | null {
  if (fused.bn === undefined) return null;
  const { layer: bn, index } = fused.bn;
  const { gamma, beta, movingMean, movingVariance } = bn;
  checkBatchNorm(index, channels, { gamma, beta, movingMean, movingVariance }, bn);
  return new BatchNormFold(simd, backend, { kernel: layer.kernel, bias: layer.bias }, bn);
}

/**
 * The stage of layer `index` (input `inShape` per sample) for a training or an inference net;
 * `dropouts` counts the dropout layers before it. In inference a dropout layer is the identity,
 * and a conv2d or dense layer runs what `fused` says it takes over from the layers after it (a
 * conv2d that takes a pooling: a {@link ConvPoolStage}).
 */
export function makeStage(
  simd: SimdKernels,
  backend: BackendWasm,
  layer: NetLayer,
  index: number,
  inShape: number[],
  dropouts: number,
  mode: NetMode,
  fused: Fused = {},
): Stage {
  switch (layer.type) {
    case 'conv2d': {
      const fold = folded(simd, backend, layer, [layer.kernel.shape[3] as number], fused);
      const act = fused.act ?? layer.activation;
      const { kernel, bias, padding } = layer;
      const { pool } = fused;
      return pool
        ? new ConvPoolStage(simd, backend, index, inShape, kernel, bias, padding, act, fold, pool.op, mode)
        : new ConvStage(simd, backend, index, inShape, kernel, bias, layer.strides, padding, act, mode, fold);
    }
    case 'dense': {
      const fold = folded(simd, backend, layer, [layer.kernel.shape[1] as number], fused);
      const act = fused.act ?? layer.activation;
      return new DenseStage(simd, index, inShape, layer.kernel, layer.bias, act, mode, fold);
    }
    case 'pool':
      return new PoolStage(simd, backend, index, inShape, layer.op, layer.size, layer.strides, mode);
    case 'batchNorm':
      return new BatchNormStage(
        simd,
        index,
        inShape,
        {
          gamma: layer.gamma,
          beta: layer.beta,
          movingMean: layer.movingMean,
          movingVariance: layer.movingVariance,
        },
        layer,
        mode,
        fused.pool?.op ?? null,
        fused.act === 'relu',
        fused.dropout === undefined ? null : { layer: fused.dropout, index: dropouts },
      );
    case 'dropout':
      return mode === 'train'
        ? new DropoutStage(simd, inShape, layer, dropouts)
        : new PassThroughStage([...inShape]);
    case 'zeroPad':
      return new ZeroPadStage(simd, index, inShape, layer.padding);
    case 'globalAvgPool':
      return new GlobalAvgPoolStage(simd, backend, index, inShape);
    case 'activation':
      return layer.activation === 'linear'
        ? new PassThroughStage([...inShape])
        : new ActivationStage(simd, inShape, layer.activation);
    case 'flatten':
      return new PassThroughStage([sizeOf(inShape)]);
  }
}

/** A network's stages in order, and what the net around them needs to know. */
export interface NetStages {
  stages: Stage[];
  /** Per stage: whether a layer before it has weights (so its input gradient is needed in training). */
  needDx: boolean[];
  /** Output floats per sample of the last stage. */
  outputs: number;
  /** Dropout layers in the network. */
  dropouts: number;
}

/** Makes the stages of `spec` for a training or an inference net; throws naming a layer that does not fit. */
export function makeStages(simd: SimdKernels, backend: BackendWasm, spec: NetSpec, mode: NetMode): NetStages {
  let shape: number[] = [...spec.input];
  const stages: Stage[] = [];
  const needDx: boolean[] = [];
  let dropouts = 0;
  let weightsBefore = false;
  spec.layers.forEach((layer, i) => {
    if (layer.type === 'dense' && layer.activation === 'softmax' && i !== spec.layers.length - 1) {
      netSpecError(i, 'only the last layer may have a softmax (the loss applies it)');
    }
  });
  // What each layer's stage takes over is fusion.ts's to say (the layers it takes get no stage).
  const taken = new Set<number>();
  spec.layers.forEach((layer, i) => {
    if (taken.has(i)) return;
    const { fused, taken: takes } = fuseAt(spec.layers, i, mode, shape);
    for (const t of takes) taken.add(t);
    const stage = makeStage(simd, backend, layer, i, shape, dropouts, mode, fused);
    if (layer.type === 'dropout' || fused.dropout) dropouts++;
    stages.push(stage);
    needDx.push(weightsBefore);
    weightsBefore ||= hasWeights(layer);
    shape = stage.outShape;
  });
  return { stages, needDx, outputs: sizeOf(shape), dropouts };
}

/** The active backend and its SIMD kernels when a compiled net can run there (wasm with SIMD), else undefined. */
export function compileTarget(): { backend: BackendWasm; simd: SimdKernels } | undefined {
  if (tf.getBackend() !== 'wasm') return undefined;
  const backend = tf.backend() as BackendWasm;
  const simd = simdKernels(backend);
  return simd === undefined ? undefined : { backend, simd };
}

/** Whether `backend` (a compiled net's) is still the active one. */
export function stillActive(backend: BackendWasm): boolean {
  return tf.getBackend() === 'wasm' && tf.backend() === backend;
}
