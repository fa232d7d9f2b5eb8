import { SpecError } from './errors.js';
import { layerNames } from './names.js';
import type { Conv2dLayer, LayerSpec, ModelSpec, Size2 } from './spec.js';
import { validateSpec } from './validate.js';

/** A shape without the batch axis: `[h, w, c]` for feature maps, `[n]` for vectors. */
export type Shape = number[];

/** What shape inference found for one spec layer. */
export interface LayerShape {
  /** Index in `spec.layers`. */
  index: number;
  type: LayerSpec['type'];
  /** The name the builder gives the layer (see `layerNames`). */
  name: string;
  inputShape: Shape;
  outputShape: Shape;
  /** Keras-style count: every weight, BatchNorm moving mean and variance included. */
  params: number;
  trainableParams: number;
  /** BatchNorm moving mean and variance (2 per channel). */
  nonTrainableParams: number;
  /** torchsummary's count: BatchNorm contributes only gamma and beta (2 per channel). */
  torchParams: number;
}

/** The result of {@link inferShapes}. */
export interface ShapeInference {
  input: Shape;
  output: Shape;
  layers: LayerShape[];
  /** Keras `Total params`. */
  totalParams: number;
  trainableParams: number;
  nonTrainableParams: number;
  /** torchsummary `Total params` (all trainable). */
  torchParams: number;
}

/** How the builder realises a conv layer's padding in TensorFlow.js. */
export interface ConvPaddingPlan {
  /** The `padding` passed to `tf.layers.conv2d`. */
  padding: 'same' | 'valid';
  /** Pixels of zero padding added on each side by a `zeroPadding2d` layer before the conv; 0 for none. */
  zeroPad: number;
}

/** `[h, w]` from a {@link Size2}. */
export function pair(s: Size2): [number, number] {
  return typeof s === 'number' ? [s, s] : [s[0], s[1]];
}

/**
 * Numeric padding `p` becomes `'valid'` when 0, `'same'` when that is exactly equivalent
 * (stride 1 and an odd kernel with `p = (k - 1) / 2` on both axes), and otherwise a
 * `zeroPadding2d` of `p` followed by a `'valid'` conv.
 */
export function convPaddingPlan(layer: Conv2dLayer): ConvPaddingPlan {
  const p = layer.padding ?? 'valid';
  if (p === 'same' || p === 'valid') return { padding: p, zeroPad: 0 };
  if (p === 0) return { padding: 'valid', zeroPad: 0 };
  const [kh, kw] = pair(layer.kernel);
  const [sh, sw] = pair(layer.stride ?? 1);
  if (sh === 1 && sw === 1 && kh === 2 * p + 1 && kw === 2 * p + 1) return { padding: 'same', zeroPad: 0 };
  return { padding: 'valid', zeroPad: p };
}

function fmtShape(s: Shape): string {
  return s.join('x');
}

function spatialOut(
  input: number,
  kernel: number,
  stride: number,
  padding: 'same' | 'valid' | number,
): number {
  if (padding === 'same') return Math.ceil(input / stride);
  const pad = padding === 'valid' ? 0 : padding;
  return Math.floor((input + 2 * pad - kernel) / stride) + 1;
}

/**
 * Validates `spec` and infers every layer's output shape and parameter counts, without TensorFlow.
 * @throws SpecError naming the layer (index and type) when a field is missing or wrong, a layer type
 * is unknown, a size reaches 0 or below, a layer gets an input of the wrong rank, or the output is
 * not `[classes]`.
 */
export function inferShapes(spec: ModelSpec | unknown): ShapeInference {
  const s = validateSpec(spec);
  const { layers, output: shape } = propagateShapes(s);
  if (shape.length !== 1 || shape[0] !== s.classes) {
    const last = s.layers.length - 1;
    throw new SpecError(
      `the model's output is [${shape.join(', ')}] but the spec has ${s.classes} classes; end with a dense layer of ${s.classes} units`,
      { specName: s.name, layerIndex: last, layerType: s.layers[last].type },
    );
  }
  const sum = (f: (l: LayerShape) => number): number => layers.reduce((a, l) => a + f(l), 0);
  return {
    input: [...s.input],
    output: shape,
    layers,
    totalParams: sum((l) => l.params),
    trainableParams: sum((l) => l.trainableParams),
    nonTrainableParams: sum((l) => l.nonTrainableParams),
    torchParams: sum((l) => l.torchParams),
  };
}

/**
 * Every layer's shapes and parameter counts of a validated spec, and the output shape, without
 * checking the output against `classes`.
 */
export function propagateShapes(s: ModelSpec): { layers: LayerShape[]; output: Shape } {
  const names = layerNames(s);
  let shape: Shape = [...s.input];
  const layers: LayerShape[] = [];
  s.layers.forEach((layer, index) => {
    const fail = (reason: string): never => {
      throw new SpecError(reason, { specName: s.name, layerIndex: index, layerType: layer.type });
    };
    const needMap = (): [number, number, number] => {
      if (shape.length !== 3) {
        fail(
          `needs a [height, width, channels] input, got [${shape.join(', ')}] (after a flatten or dense?)`,
        );
      }
      return [shape[0], shape[1], shape[2]];
    };
    const checkPositive = (out: Shape, detail: string): Shape => {
      const axes = out.length === 3 ? ['height', 'width', 'channels'] : ['size'];
      out.forEach((v, i) => {
        if (v <= 0) fail(`output ${axes[i]} ${v} <= 0 (input ${fmtShape(shape)}, ${detail})`);
      });
      return out;
    };
    let out: Shape;
    let trainable = 0;
    let nonTrainable = 0;
    let torch = 0;
    switch (layer.type) {
      case 'conv2d': {
        const [h, w, c] = needMap();
        const [kh, kw] = pair(layer.kernel);
        const [sh, sw] = pair(layer.stride ?? 1);
        const padding = layer.padding ?? 'valid';
        const detail = `kernel ${kh}x${kw}, stride ${sh}x${sw}, padding ${typeof padding === 'number' ? padding : `'${padding}'`}`;
        out = checkPositive(
          [spatialOut(h, kh, sh, padding), spatialOut(w, kw, sw, padding), layer.filters],
          detail,
        );
        trainable = kh * kw * c * layer.filters + (layer.useBias === false ? 0 : layer.filters);
        torch = trainable;
        break;
      }
      case 'batchNorm': {
        if (shape.length !== 3 && shape.length !== 1)
          fail(`needs a rank-3 or rank-1 input, got [${shape.join(', ')}]`);
        const channels = shape[shape.length - 1];
        out = [...shape];
        trainable = 2 * channels;
        nonTrainable = 2 * channels;
        torch = 2 * channels;
        break;
      }
      case 'dropout':
      case 'activation':
        out = [...shape];
        break;
      case 'maxPool':
      case 'avgPool': {
        const [h, w, c] = needMap();
        const [ph, pw] = pair(layer.size);
        const [sh, sw] = pair(layer.stride ?? layer.size);
        const padding = layer.padding ?? 'valid';
        out = checkPositive(
          [spatialOut(h, ph, sh, padding), spatialOut(w, pw, sw, padding), c],
          `size ${ph}x${pw}, stride ${sh}x${sw}, padding '${padding}'`,
        );
        break;
      }
      case 'globalAvgPool': {
        const [, , c] = needMap();
        out = [c];
        break;
      }
      case 'flatten':
        out = [shape.reduce((a, b) => a * b, 1)];
        break;
      case 'dense': {
        if (shape.length !== 1) {
          fail(
            `needs a flat [n] input, got [${shape.join(', ')}]; add a flatten or globalAvgPool layer before it`,
          );
        }
        trainable = shape[0] * layer.units + (layer.useBias === false ? 0 : layer.units);
        torch = trainable;
        out = [layer.units];
        break;
      }
    }
    layers.push({
      index,
      type: layer.type,
      name: names[index],
      inputShape: shape,
      outputShape: out,
      params: trainable + nonTrainable,
      trainableParams: trainable,
      nonTrainableParams: nonTrainable,
      torchParams: torch,
    });
    shape = out;
  });
  return { layers, output: shape };
}
