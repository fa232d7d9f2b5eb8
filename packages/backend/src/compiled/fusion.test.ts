import { afterEach, describe, expect, it } from 'vitest';
import type * as tf from '../tfjs.js';
import { setTrainBatchNormPoolFusionEnabled, trainBatchNormPoolFusionEnabled } from './batch-norm-stage.js';
import {
  convPoolFusionEnabled,
  inferenceFusionEnabled,
  setConvPoolFusionEnabled,
  setInferenceFusionEnabled,
  setTrainConvAvgPoolFusionEnabled,
  setTrainConvPoolFusionEnabled,
  trainConvAvgPoolFusionEnabled,
  trainConvPoolFusionEnabled,
} from './fold.js';
import { fuseAt, fusionPlan } from './fusion.js';
import type { NetActivation, NetLayer } from './net-spec.js';

// The plan reads only shapes of the variables.
const variable = (shape: number[]) =>
  ({ shape, rank: shape.length, size: shape.reduce((a, b) => a * b, 1) }) as unknown as tf.Variable;

const conv = (k: number, ci: number, co: number, activation: NetActivation = 'linear'): NetLayer => ({
  type: 'conv2d',
  kernel: variable([k, k, ci, co]),
  bias: variable([co]),
  strides: [1, 1],
  padding: 'valid',
  activation,
});
const bn = (c: number): NetLayer => ({
  type: 'batchNorm',
  gamma: variable([c]),
  beta: variable([c]),
  movingMean: variable([c]),
  movingVariance: variable([c]),
  momentum: 0.99,
  epsilon: 1e-3,
});
const pool = (op: 'max' | 'avg'): NetLayer => ({ type: 'pool', op, size: [2, 2], strides: [2, 2] });
const act = (activation: NetActivation): NetLayer => ({ type: 'activation', activation });
const dropout: NetLayer = { type: 'dropout', rate: 0.25 };

const switches = [
  [setInferenceFusionEnabled, inferenceFusionEnabled()],
  [setConvPoolFusionEnabled, convPoolFusionEnabled()],
  [setTrainConvPoolFusionEnabled, trainConvPoolFusionEnabled()],
  [setTrainConvAvgPoolFusionEnabled, trainConvAvgPoolFusionEnabled()],
  [setTrainBatchNormPoolFusionEnabled, trainBatchNormPoolFusionEnabled()],
] as const;

describe('fusion plan', () => {
  afterEach(() => {
    for (const [set, was] of switches) set(was);
  });

  it('training: a conv2d takes the 2×2/2 pooling right after it, of either kind, each behind its switch', () => {
    const layers = [conv(5, 1, 6, 'tanh'), pool('avg'), conv(5, 6, 16, 'relu'), pool('max')];
    expect(fuseAt(layers, 0, 'train', [28, 28, 1])).toEqual({
      fused: { pool: { op: 'avg', index: 1 } },
      taken: [1],
    });
    expect(fuseAt(layers, 2, 'train', [12, 12, 6]).fused.pool).toEqual({ op: 'max', index: 3 });
    setTrainConvAvgPoolFusionEnabled(false);
    expect(fuseAt(layers, 0, 'train', [28, 28, 1]).taken).toEqual([]);
    expect(fuseAt(layers, 2, 'train', [12, 12, 6]).taken).toEqual([3]);
    setTrainConvPoolFusionEnabled(false);
    expect(fusionPlan(layers, 'train').layers.map((l) => l.index)).toEqual([0, 1, 2, 3]);
  });

  it('training: not a pooling past another layer, nor one the kernel cannot take at this input size', () => {
    const relu = [conv(5, 1, 6), act('relu'), pool('max')];
    expect(fuseAt(relu, 0, 'train', [28, 28, 1]).taken).toEqual([]);
    // An odd output (27 × 27) leaves a row out of the windows; a tanh before a max pooling.
    expect(fuseAt([conv(2, 1, 6, 'relu'), pool('max')], 0, 'train', [28, 28, 1]).taken).toEqual([]);
    expect(fuseAt([conv(5, 1, 6, 'tanh'), pool('max')], 0, 'train', [28, 28, 1]).taken).toEqual([]);
    // By types alone (no input size) the plan takes them.
    expect(fuseAt([conv(2, 1, 6, 'relu'), pool('max')], 0, 'train').taken).toEqual([1]);
  });

  it('training: a batch norm takes [dropout and] relu and a 2×2/2 max pooling, not a dropout without relu', () => {
    const torchBn = [
      conv(5, 1, 6),
      bn(6),
      dropout,
      act('relu'),
      pool('max'),
      { type: 'flatten' } as NetLayer,
    ];
    expect(fuseAt(torchBn, 1, 'train', [24, 24, 6])).toEqual({
      fused: { pool: { op: 'max', index: 4 }, act: 'relu', dropout },
      taken: [2, 3, 4],
    });
    expect(fusionPlan(torchBn, 'train').layers.map((l) => l.index)).toEqual([0, 1, 5]);
    expect(fuseAt([bn(6), pool('max')], 0, 'train', [24, 24, 6]).taken).toEqual([1]);
    expect(fuseAt([bn(6), dropout, pool('max')], 0, 'train', [24, 24, 6]).taken).toEqual([]);
    expect(fuseAt([bn(6), pool('avg')], 0, 'train', [24, 24, 6]).taken).toEqual([]);
    // Under 4 channels or an odd size the kernel cannot take it.
    expect(fuseAt([bn(3), pool('max')], 0, 'train', [24, 24, 3]).taken).toEqual([]);
    expect(fuseAt([bn(6), pool('max')], 0, 'train', [25, 25, 6]).taken).toEqual([]);
    // Training never folds a batch norm.
    expect(fuseAt(torchBn, 0, 'train', [28, 28, 1]).taken).toEqual([]);
    setTrainBatchNormPoolFusionEnabled(false);
    expect(fuseAt(torchBn, 1, 'train', [24, 24, 6]).taken).toEqual([]);
  });

  it('inference: a linear conv2d folds the batch norm, runs the activation and the pooling past identity layers', () => {
    const layers = [conv(5, 1, 6), dropout, bn(6), act('relu'), dropout, pool('max')];
    expect(fuseAt(layers, 0, 'infer', [28, 28, 1])).toEqual({
      fused: { bn: { layer: layers[2], index: 2 }, act: 'relu', pool: { op: 'max', index: 5 } },
      taken: [2, 3, 5],
    });
    expect(fusionPlan(layers, 'infer').layers.map((l) => l.index)).toEqual([0, 1, 4]);
    setConvPoolFusionEnabled(false);
    expect(fuseAt(layers, 0, 'infer', [28, 28, 1]).taken).toEqual([2, 3]);
    setInferenceFusionEnabled(false);
    expect(fuseAt(layers, 0, 'infer', [28, 28, 1]).taken).toEqual([]);
  });

  it('inference: a pooling the conv kernel cannot take at this input size stays its own layer', () => {
    // Over 16 output channels from 5 input channels: the wide kernel, which has no pooling.
    const layers = [conv(3, 5, 17, 'relu'), pool('max')];
    expect(fuseAt(layers, 0, 'infer').taken).toEqual([1]);
    expect(fuseAt(layers, 0, 'infer', [12, 12, 5]).taken).toEqual([]);
  });

  it("inference: Keras's order (activation, then batch norm) pools inside the batch norm, 4 channels at a time", () => {
    const layers = [conv(3, 1, 32, 'relu'), bn(32), pool('max')];
    expect(fuseAt(layers, 0, 'infer', [28, 28, 1]).taken).toEqual([]);
    expect(fuseAt(layers, 1, 'infer', [26, 26, 32])).toEqual({
      fused: { pool: { op: 'max', index: 2 } },
      taken: [2],
    });
    expect(fuseAt([bn(6), pool('max')], 0, 'infer', [26, 26, 6]).taken).toEqual([]);
    // A dense layer runs only a relu inside it.
    const dense = (activation: NetActivation): NetLayer => ({
      type: 'dense',
      kernel: variable([10, 10]),
      activation,
    });
    expect(fuseAt([dense('linear'), act('tanh')], 0, 'infer', [10]).taken).toEqual([]);
    expect(fuseAt([dense('linear'), act('relu')], 0, 'infer', [10]).fused).toEqual({ act: 'relu' });
  });
});
