/** What every layer converter shares: its input and output, and reading a layer's config and weights. */

import { OnnxError } from '../errors.js';
import type { IrOp, ValueShape } from '../ir.js';
import type * as tf from '../tfjs.js';
import type { FlattenStrategy } from './flatten.js';

/** A TensorFlow.js layer. */
export type Layer = tf.layers.Layer;
/** A layer's `getConfig()`. */
export type Config = Record<string, unknown>;

/** A weight's shape and a copy of its values. */
export interface Weight {
  shape: number[];
  data: Float32Array;
}

/** What a converter gets: the layer and the state of the chain before it. */
export interface LayerInput {
  layer: Layer;
  config: Config;
  /** Shape of the value flowing into the layer. */
  shape: ValueShape;
  /** Set after a Flatten whose Keras order is restored by permuting the next Dense's rows. */
  pendingPerm: Int32Array | null;
  /** The layers after this one (a Flatten looks ahead for its Dense). */
  next: readonly Layer[];
  strategy: FlattenStrategy | 'unsafe-nchw';
}

/** What a converter gives back: its operations and the state of the chain after it. */
export interface LayerOutput {
  ops: IrOp[];
  shape: ValueShape;
  pendingPerm: Int32Array | null;
}

/** Converts one layer class. */
export type LayerConverter = (input: LayerInput) => LayerOutput;

/** Layers that do nothing at inference and are dropped. */
export const DROPPED = new Set([
  'Dropout',
  'SpatialDropout1D',
  'SpatialDropout2D',
  'GaussianNoise',
  'GaussianDropout',
  'AlphaDropout',
]);

export function describe(layer: Layer): string {
  return `layer "${layer.name}" (${layer.getClassName()})`;
}

export function pair(value: unknown, layer: Layer, field: string): [number, number] {
  if (typeof value === 'number') return [value, value];
  if (Array.isArray(value) && value.length === 2 && value.every((v) => typeof v === 'number')) {
    return [value[0] as number, value[1] as number];
  }
  if (Array.isArray(value) && value.length === 1 && typeof value[0] === 'number') return [value[0], value[0]];
  throw new OnnxError(
    'UNSUPPORTED_LAYER',
    `${describe(layer)}: cannot read ${field} ${JSON.stringify(value)}`,
  );
}

/** The layer's weights by short name (`kernel`, `bias`, `gamma`, `moving_mean` …). */
export function namedWeights(layer: Layer): Map<string, Weight> {
  const values = layer.getWeights(); // reads of the variables themselves: not to be disposed
  const out = new Map<string, Weight>();
  layer.weights.forEach((variable, i) => {
    const full = variable.originalName ?? variable.name;
    const short = full.slice(full.lastIndexOf('/') + 1).replace(/_\d+$/, '');
    const value = values[i];
    out.set(short, { shape: value.shape.slice(), data: Float32Array.from(value.dataSync() as Float32Array) });
  });
  return out;
}

export function need(weights: Map<string, Weight>, name: string, layer: Layer): Weight {
  const w = weights.get(name);
  if (!w) {
    throw new OnnxError(
      'UNSUPPORTED_LAYER',
      `${describe(layer)}: weight "${name}" not found (has ${[...weights.keys()].join(', ') || 'no weights'})`,
    );
  }
  return w;
}

export function requireChannelsLast(config: Config, layer: Layer): void {
  const format = config.dataFormat;
  if (format != null && format !== 'channelsLast') {
    throw new OnnxError(
      'UNSUPPORTED_LAYER',
      `${describe(layer)}: dataFormat "${String(format)}" is not supported; use channelsLast`,
    );
  }
}

export function requireImage(shape: ValueShape, layer: Layer): { c: number; h: number; w: number } {
  if (shape.kind !== 'image') {
    throw new OnnxError(
      'UNSUPPORTED_LAYER',
      `${describe(layer)}: expects an image input [N, H, W, C] but gets [N, ${shape.features}]`,
    );
  }
  return shape;
}
