/**
 * TensorFlow.js LayersModel → the exporter's intermediate form: checks the model is a linear
 * chain, then hands each layer to the converter of its class (`layers/*.ts`).
 */

import { OnnxError } from './errors.js';
import type { IrGraph, IrOp, ValueShape } from './ir.js';
import {
  convertActivation,
  convertElu,
  convertLeakyRelu,
  convertRelu,
  convertSoftmax,
} from './layers/activation.js';
import { convertBatchNorm } from './layers/batch-norm.js';
import { convertConv2d } from './layers/conv.js';
import { convertDense } from './layers/dense.js';
import { convertFlatten, type FlattenStrategy } from './layers/flatten.js';
import { convertZeroPadding2d } from './layers/padding.js';
import { convertGlobalAveragePool2d, convertPool2d } from './layers/pool.js';
import {
  type Config,
  DROPPED,
  describe,
  type Layer,
  type LayerConverter,
  type LayerOutput,
} from './layers/shared.js';
import type * as tf from './tfjs.js';

/** Options of {@link modelToIr}. `'unsafe-nchw'` exists only to prove, in tests, that order matters. */
export interface ModelToIrOptions {
  flatten?: FlattenStrategy | 'unsafe-nchw';
}

/** Dropped layers pass their input through. */
const passThrough: LayerConverter = ({ shape, pendingPerm }) => ({ ops: [], shape, pendingPerm });

const CONVERTERS = new Map<string, LayerConverter>([
  ['Conv2D', convertConv2d],
  ['ZeroPadding2D', convertZeroPadding2d],
  ['MaxPooling2D', convertPool2d],
  ['AveragePooling2D', convertPool2d],
  ['GlobalAveragePooling2D', convertGlobalAveragePool2d],
  ['Flatten', convertFlatten],
  ['Dense', convertDense],
  ['BatchNormalization', convertBatchNorm],
  ['Activation', convertActivation],
  ['ReLU', convertRelu],
  ['LeakyReLU', convertLeakyRelu],
  ['ELU', convertElu],
  ['Softmax', convertSoftmax],
  ...[...DROPPED].map((name): [string, LayerConverter] => [name, passThrough]),
]);

function inputShapeOf(model: tf.LayersModel): [number, number, number] {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) {
    throw new OnnxError(
      'UNSUPPORTED_MODEL',
      `model "${model.name}" has ${model.inputs.length} inputs and ${model.outputs.length} outputs; only single-input, single-output models are supported`,
    );
  }
  const shape = model.inputs[0].shape;
  if (shape.length !== 4 || shape.slice(1).some((d) => d == null || d <= 0)) {
    throw new OnnxError(
      'NOT_AN_IMAGE_MODEL',
      `model "${model.name}" input shape is [${shape.map((d) => d ?? 'null').join(', ')}]; expected an image tensor [N, H, W, C] with fixed H, W, C`,
    );
  }
  return [shape[1] as number, shape[2] as number, shape[3] as number];
}

/** The layers in execution order; fails unless each one feeds only the next (a linear chain). */
function chainOf(model: tf.LayersModel): Layer[] {
  const layers = model.layers.filter((l) => l.getClassName() !== 'InputLayer');
  layers.forEach((layer, i) => {
    const inbound = layer.inboundNodes.flatMap((n) => n.inboundLayers);
    const expected = i === 0 ? undefined : layers[i - 1];
    const ok =
      layer.inboundNodes.length === 1 &&
      inbound.length === 1 &&
      (expected ? inbound[0] === expected : inbound[0].getClassName() === 'InputLayer');
    if (!ok) {
      throw new OnnxError(
        'UNSUPPORTED_MODEL',
        `${describe(layer)} is not fed by the layer before it; only linear chains of layers (Sequential-style models) are supported`,
      );
    }
  });
  return layers;
}

function sameShape(mine: ValueShape, layer: Layer): void {
  const out = layer.outputShape as (number | null)[];
  const theirs = mine.kind === 'image' ? [mine.h, mine.w, mine.c] : [mine.features];
  if (out.length !== theirs.length + 1 || theirs.some((d, i) => out[i + 1] !== d)) {
    throw new OnnxError(
      'UNSUPPORTED_LAYER',
      `${describe(layer)}: exporter computed output [N, ${theirs.join(', ')}] but TensorFlow.js reports [${out
        .map((d) => d ?? 'N')
        .join(', ')}]`,
    );
  }
}

/**
 * Converts a TensorFlow.js LayersModel (a linear chain of supported layers) to the exporter's
 * channels-first intermediate form. Throws an {@link OnnxError} naming the first unsupported layer.
 */
export function modelToIr(model: tf.LayersModel, options: ModelToIrOptions = {}): IrGraph {
  const strategy = options.flatten ?? 'permute-weights';
  const [h0, w0, c0] = inputShapeOf(model);
  const layers = chainOf(model);
  const ops: IrOp[] = [];
  let state: LayerOutput = { ops: [], shape: { kind: 'image', c: c0, h: h0, w: w0 }, pendingPerm: null };
  layers.forEach((layer, index) => {
    const convert = CONVERTERS.get(layer.getClassName());
    if (!convert) {
      throw new OnnxError(
        'UNSUPPORTED_LAYER',
        `${describe(layer)} cannot be exported to ONNX; supported layers: Conv2D, ZeroPadding2D, BatchNormalization, Dropout, Activation, ReLU, LeakyReLU, ELU, Softmax, MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D, Flatten, Dense`,
      );
    }
    state = convert({
      layer,
      config: layer.getConfig() as Config,
      shape: state.shape,
      pendingPerm: state.pendingPerm,
      next: layers.slice(index + 1),
      strategy,
    });
    sameShape(state.shape, layer);
    ops.push(...state.ops);
  });

  if (state.pendingPerm)
    throw new OnnxError(
      'UNSUPPORTED_MODEL',
      `model "${model.name}": Flatten is not followed by a Dense layer`,
    );
  const final = state.shape;
  if (final.kind !== 'flat') {
    throw new OnnxError(
      'UNSUPPORTED_MODEL',
      `model "${model.name}" outputs [N, ${final.h}, ${final.w}, ${final.c}]; a classifier must end in [N, classes] (add Flatten/GlobalAveragePooling2D and Dense)`,
    );
  }
  return { inputHwc: [h0, w0, c0], ops, outputs: final.features };
}
