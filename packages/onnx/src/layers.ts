import type * as tf from '@tensorflow/tfjs';
import { OnnxError } from './errors.js';
import type { ActivationFn, IrGraph, IrOp, ValueShape } from './ir.js';

/** How the exporter reproduces Keras' channels-last Flatten order in the channels-first graph. */
export type FlattenStrategy = 'permute-weights' | 'transpose';

/** Options of {@link modelToIr}. `'unsafe-nchw'` exists only to prove, in tests, that order matters. */
export interface ModelToIrOptions {
  flatten?: FlattenStrategy | 'unsafe-nchw';
}

type Layer = tf.layers.Layer;
type Config = Record<string, unknown>;

interface Weight {
  shape: number[];
  data: Float32Array;
}

const ACTIVATIONS: Record<string, ActivationFn | 'linear'> = {
  linear: 'linear',
  relu: 'relu',
  relu6: 'relu6',
  elu: 'elu',
  selu: 'selu',
  tanh: 'tanh',
  sigmoid: 'sigmoid',
  hardSigmoid: 'hardSigmoid',
  softplus: 'softplus',
  softsign: 'softsign',
  swish: 'swish',
  mish: 'mish',
  softmax: 'softmax',
  logSoftmax: 'logSoftmax',
};

/** Layers that do nothing at inference and are dropped. */
const DROPPED = new Set([
  'Dropout',
  'SpatialDropout1D',
  'SpatialDropout2D',
  'GaussianNoise',
  'GaussianDropout',
  'AlphaDropout',
]);

/** Layers that act element-wise (feature order does not matter to them). */
const ELEMENTWISE = new Set(['Activation', 'ReLU', 'LeakyReLU', 'ELU', ...DROPPED]);

/** Layers that may sit between Flatten and Dense when the Dense rows are permuted (BatchNorm is permuted too). */
const PERMUTABLE = new Set([...ELEMENTWISE, 'BatchNormalization']);

function describe(layer: Layer): string {
  return `layer "${layer.name}" (${layer.getClassName()})`;
}

function pair(value: unknown, layer: Layer, field: string): [number, number] {
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

function activationOf(name: unknown, layer: Layer): ActivationFn | 'linear' {
  const fn = typeof name === 'string' ? ACTIVATIONS[name] : undefined;
  if (!fn) {
    throw new OnnxError(
      'UNSUPPORTED_LAYER',
      `${describe(layer)}: activation "${String(name)}" is not supported; supported: ${Object.keys(ACTIVATIONS).join(', ')}`,
    );
  }
  return fn;
}

/** The layer's weights by short name (`kernel`, `bias`, `gamma`, `moving_mean` …). */
function namedWeights(layer: Layer): Map<string, Weight> {
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

function need(weights: Map<string, Weight>, name: string, layer: Layer): Weight {
  const w = weights.get(name);
  if (!w) {
    throw new OnnxError(
      'UNSUPPORTED_LAYER',
      `${describe(layer)}: weight "${name}" not found (has ${[...weights.keys()].join(', ') || 'no weights'})`,
    );
  }
  return w;
}

function requireChannelsLast(config: Config, layer: Layer): void {
  const format = config.dataFormat;
  if (format != null && format !== 'channelsLast') {
    throw new OnnxError(
      'UNSUPPORTED_LAYER',
      `${describe(layer)}: dataFormat "${String(format)}" is not supported; use channelsLast`,
    );
  }
}

function requireImage(shape: ValueShape, layer: Layer): { c: number; h: number; w: number } {
  if (shape.kind !== 'image') {
    throw new OnnxError(
      'UNSUPPORTED_LAYER',
      `${describe(layer)}: expects an image input [N, H, W, C] but gets [N, ${shape.features}]`,
    );
  }
  return shape;
}

/** Output size and pads `[before, after]` of one spatial dimension, as TensorFlow computes them. */
export function spatialPadding(
  size: number,
  kernel: number,
  stride: number,
  dilation: number,
  padding: 'same' | 'valid',
): { out: number; before: number; after: number } {
  const effective = (kernel - 1) * dilation + 1;
  if (padding === 'valid') return { out: Math.floor((size - effective) / stride) + 1, before: 0, after: 0 };
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + effective - size, 0);
  const before = Math.floor(total / 2);
  return { out, before, after: total - before };
}

function paddingMode(value: unknown, layer: Layer): 'same' | 'valid' {
  if (value === 'same' || value === 'valid') return value;
  throw new OnnxError(
    'UNSUPPORTED_LAYER',
    `${describe(layer)}: padding "${String(value)}" is not supported (same or valid)`,
  );
}

/**
 * Index map for Keras' channels-last flatten order: `perm[nchwIndex] = nhwcIndex`, so row `i` of a
 * Dense kernel reordered for an NCHW-flattened input is row `perm[i]` of the original.
 */
export function flattenPermutation(c: number, h: number, w: number): Int32Array {
  const perm = new Int32Array(c * h * w);
  for (let ch = 0; ch < c; ch++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) perm[(ch * h + y) * w + x] = (y * w + x) * c + ch;
    }
  }
  return perm;
}

function permuteRows(data: Float32Array, perm: Int32Array, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let i = 0; i < perm.length; i++)
    out.set(data.subarray(perm[i] * cols, perm[i] * cols + cols), i * cols);
  return out;
}

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
  let shape = { kind: 'image', c: c0, h: h0, w: w0 } as ValueShape;
  /** Set after a Flatten whose Keras order is restored by permuting the next Dense's rows. */
  let pendingPerm = null as Int32Array | null;

  const pushActivation = (
    fn: ActivationFn | 'linear',
    layer: Layer,
    extra: { alpha?: number; max?: number } = {},
  ) => {
    if (fn === 'linear') return;
    if ((fn === 'softmax' || fn === 'logSoftmax') && pendingPerm) {
      throw new OnnxError(
        'UNSUPPORTED_MODEL',
        `${describe(layer)}: softmax over un-permuted flattened features`,
      );
    }
    ops.push({ kind: 'activation', layer: layer.name, fn, ...extra });
  };

  layers.forEach((layer, index) => {
    const cls = layer.getClassName();
    const config = layer.getConfig() as Config;
    if (DROPPED.has(cls)) {
      sameShape(shape, layer);
      return;
    }
    switch (cls) {
      case 'Conv2D': {
        requireChannelsLast(config, layer);
        const img = requireImage(shape, layer);
        const [kh, kw] = pair(config.kernelSize, layer, 'kernelSize');
        const strides = pair(config.strides ?? 1, layer, 'strides');
        const dilations = pair(config.dilationRate ?? 1, layer, 'dilationRate');
        const mode = paddingMode(config.padding, layer);
        const weights = namedWeights(layer);
        const kernel = need(weights, 'kernel', layer);
        const [, , cin, cout] = kernel.shape;
        if (cin !== img.c) {
          throw new OnnxError(
            'UNSUPPORTED_LAYER',
            `${describe(layer)}: kernel expects ${cin} input channels, gets ${img.c}`,
          );
        }
        // [kh, kw, in, out] → [out, in, kh, kw]
        const weight = new Float32Array(kernel.data.length);
        for (let y = 0; y < kh; y++)
          for (let x = 0; x < kw; x++)
            for (let i = 0; i < cin; i++)
              for (let o = 0; o < cout; o++)
                weight[((o * cin + i) * kh + y) * kw + x] = kernel.data[((y * kw + x) * cin + i) * cout + o];
        const py = spatialPadding(img.h, kh, strides[0], dilations[0], mode);
        const px = spatialPadding(img.w, kw, strides[1], dilations[1], mode);
        ops.push({
          kind: 'conv',
          layer: layer.name,
          weight,
          dims: [cout, cin, kh, kw],
          bias: config.useBias === false ? null : need(weights, 'bias', layer).data,
          strides,
          dilations,
          pads: [py.before, px.before, py.after, px.after],
        });
        shape = { kind: 'image', c: cout, h: py.out, w: px.out };
        sameShape(shape, layer);
        pushActivation(activationOf(config.activation ?? 'linear', layer), layer);
        return;
      }
      case 'ZeroPadding2D': {
        requireChannelsLast(config, layer);
        const img = requireImage(shape, layer);
        const p = config.padding as unknown;
        let pads: [number, number, number, number];
        if (Array.isArray(p) && Array.isArray(p[0])) {
          const [[t, b], [l, r]] = p as [[number, number], [number, number]];
          pads = [t, l, b, r];
        } else {
          const [ph, pw] = pair(p, layer, 'padding');
          pads = [ph, pw, ph, pw];
        }
        ops.push({ kind: 'pad', layer: layer.name, pads });
        shape = { kind: 'image', c: img.c, h: img.h + pads[0] + pads[2], w: img.w + pads[1] + pads[3] };
        sameShape(shape, layer);
        return;
      }
      case 'MaxPooling2D':
      case 'AveragePooling2D': {
        requireChannelsLast(config, layer);
        const img = requireImage(shape, layer);
        const kernel = pair(config.poolSize, layer, 'poolSize');
        const strides = pair(config.strides ?? kernel, layer, 'strides');
        const mode = paddingMode(config.padding ?? 'valid', layer);
        const py = spatialPadding(img.h, kernel[0], strides[0], 1, mode);
        const px = spatialPadding(img.w, kernel[1], strides[1], 1, mode);
        ops.push({
          kind: cls === 'MaxPooling2D' ? 'maxPool' : 'avgPool',
          layer: layer.name,
          kernel,
          strides,
          pads: [py.before, px.before, py.after, px.after],
        });
        shape = { kind: 'image', c: img.c, h: py.out, w: px.out };
        sameShape(shape, layer);
        return;
      }
      case 'GlobalAveragePooling2D': {
        requireChannelsLast(config, layer);
        const img = requireImage(shape, layer);
        ops.push({ kind: 'globalAvgPool', layer: layer.name });
        shape = { kind: 'flat', features: img.c };
        sameShape(shape, layer);
        return;
      }
      case 'Flatten': {
        if (shape.kind === 'flat') return;
        const { c, h, w } = shape;
        const channelsFirst = config.dataFormat === 'channelsFirst';
        const orderMatters = !channelsFirst && c > 1 && h * w > 1 && strategy !== 'unsafe-nchw';
        let permute = false;
        if (orderMatters && strategy === 'permute-weights') {
          // Permute the next Dense's rows when only element-wise layers (or BatchNorm) come between.
          const next = layers.slice(index + 1).find((l) => !PERMUTABLE.has(l.getClassName()));
          permute = next?.getClassName() === 'Dense';
        }
        ops.push({ kind: 'flatten', layer: layer.name, toChannelsLast: orderMatters && !permute });
        if (permute) pendingPerm = flattenPermutation(c, h, w);
        shape = { kind: 'flat', features: c * h * w };
        sameShape(shape, layer);
        return;
      }
      case 'Dense': {
        if (shape.kind !== 'flat') {
          throw new OnnxError(
            'UNSUPPORTED_LAYER',
            `${describe(layer)}: Dense on a rank-4 input [N, ${shape.h}, ${shape.w}, ${shape.c}] is not supported; add a Flatten or GlobalAveragePooling2D before it`,
          );
        }
        const weights = namedWeights(layer);
        const kernel = need(weights, 'kernel', layer);
        const [inFeatures, outFeatures] = kernel.shape;
        if (inFeatures !== shape.features) {
          throw new OnnxError(
            'UNSUPPORTED_LAYER',
            `${describe(layer)}: kernel expects ${inFeatures} inputs, gets ${shape.features}`,
          );
        }
        const weight = pendingPerm ? permuteRows(kernel.data, pendingPerm, outFeatures) : kernel.data;
        pendingPerm = null;
        ops.push({
          kind: 'gemm',
          layer: layer.name,
          weight,
          inFeatures,
          outFeatures,
          bias: config.useBias === false ? null : need(weights, 'bias', layer).data,
        });
        shape = { kind: 'flat', features: outFeatures };
        sameShape(shape, layer);
        pushActivation(activationOf(config.activation ?? 'linear', layer), layer);
        return;
      }
      case 'BatchNormalization': {
        const rank = shape.kind === 'image' ? 4 : 2;
        const axis = config.axis as number | number[];
        const ax = Array.isArray(axis) && axis.length === 1 ? axis[0] : axis;
        if (ax !== -1 && ax !== rank - 1) {
          throw new OnnxError(
            'UNSUPPORTED_LAYER',
            `${describe(layer)}: normalisation axis ${JSON.stringify(axis)} is not supported (only the channel axis, -1)`,
          );
        }
        const weights = namedWeights(layer);
        const mean = need(weights, 'moving_mean', layer).data;
        const n = mean.length;
        const gamma = weights.get('gamma')?.data ?? new Float32Array(n).fill(1);
        const beta = weights.get('beta')?.data ?? new Float32Array(n);
        let variance = need(weights, 'moving_variance', layer).data;
        let [g, b, m] = [gamma, beta, mean];
        if (pendingPerm) {
          [g, b, m, variance] = [gamma, beta, mean, variance].map((v) =>
            permuteRows(v, pendingPerm as Int32Array, 1),
          );
        }
        ops.push({
          kind: 'batchNorm',
          layer: layer.name,
          gamma: g,
          beta: b,
          mean: m,
          variance,
          epsilon: Number(config.epsilon ?? 1e-3),
        });
        sameShape(shape, layer);
        return;
      }
      case 'Activation':
        pushActivation(activationOf(config.activation, layer), layer);
        sameShape(shape, layer);
        return;
      case 'ReLU': {
        const max = config.maxValue as number | null | undefined;
        if (max == null) pushActivation('relu', layer);
        else pushActivation('relu', layer, { max });
        sameShape(shape, layer);
        return;
      }
      case 'LeakyReLU':
        pushActivation('leakyRelu', layer, { alpha: Number(config.alpha ?? 0.3) });
        sameShape(shape, layer);
        return;
      case 'ELU':
        pushActivation('elu', layer, { alpha: Number(config.alpha ?? 1) });
        sameShape(shape, layer);
        return;
      case 'Softmax': {
        const axis = config.axis as number | undefined;
        if (axis != null && axis !== -1 && axis !== (shape.kind === 'image' ? 3 : 1)) {
          throw new OnnxError(
            'UNSUPPORTED_LAYER',
            `${describe(layer)}: softmax over axis ${axis} is not supported (only the last axis)`,
          );
        }
        pushActivation('softmax', layer);
        sameShape(shape, layer);
        return;
      }
      default:
        throw new OnnxError(
          'UNSUPPORTED_LAYER',
          `${describe(layer)} cannot be exported to ONNX; supported layers: Conv2D, ZeroPadding2D, BatchNormalization, Dropout, Activation, ReLU, LeakyReLU, ELU, Softmax, MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D, Flatten, Dense`,
        );
    }
  });

  if (pendingPerm)
    throw new OnnxError(
      'UNSUPPORTED_MODEL',
      `model "${model.name}": Flatten is not followed by a Dense layer`,
    );
  const final: ValueShape = shape;
  if (final.kind !== 'flat') {
    throw new OnnxError(
      'UNSUPPORTED_MODEL',
      `model "${model.name}" outputs [N, ${final.h}, ${final.w}, ${final.c}]; a classifier must end in [N, classes] (add Flatten/GlobalAveragePooling2D and Dense)`,
    );
  }
  return { inputHwc: [h0, w0, c0], ops, outputs: final.features };
}
