import { convPaddingPlan, inferShapes, type Shape } from './shapes.js';
import type { ActivationName, LayerSpec, ModelSpec } from './spec.js';
import { validateSpec } from './validate.js';

/** One row of the Keras-style table: a TensorFlow.js layer of the built model. */
export interface KerasRow {
  /** The layer name in the built model (`conv2d_1`, or the spec's `name`). */
  name: string;
  /** Keras class name (`Conv2D`, `BatchNormalization`, …). */
  className: string;
  /** Index of the spec layer this row comes from. */
  specIndex: number;
  /** Output shape without the batch axis. */
  outputShape: Shape;
  params: number;
  trainableParams: number;
  nonTrainableParams: number;
}

/** One row of the torchsummary-style table: a PyTorch module of the equivalent network. */
export interface TorchRow {
  /** torchsummary's label, e.g. `Conv2d-1`, `BatchNorm2d-2`, `ReLU-4`. */
  label: string;
  /** PyTorch module class name. */
  module: string;
  specIndex: number;
  /** Output shape in PyTorch order without the batch axis: `[C, H, W]` or `[N]`. */
  outputShape: number[];
  /** Parameters as torchsummary counts them (BatchNorm: gamma and beta only). */
  params: number;
}

/** The result of {@link summary}: rows, totals in both conventions, and the two rendered tables. */
export interface ModelSummary {
  name: string;
  input: [number, number, number];
  classes: number;
  /** Keras-style rows, one per layer of the built TensorFlow.js model. */
  rows: KerasRow[];
  /** torchsummary-style rows, one per module of the equivalent PyTorch network. */
  torchRows: TorchRow[];
  /** Keras `Total params` (BatchNorm moving statistics included). */
  totalParams: number;
  trainableParams: number;
  nonTrainableParams: number;
  /** torchsummary `Total params` (BatchNorm gamma and beta only). */
  torchParams: number;
  /** torchsummary's `Input size (MB)` for one sample (float32). */
  inputSizeMB: number;
  /** torchsummary's `Forward/backward pass size (MB)`: 2 x all row outputs x 4 bytes. */
  forwardBackwardMB: number;
  /** torchsummary's `Params size (MB)`. */
  paramsSizeMB: number;
  /** torchsummary's `Estimated Total Size (MB)`. */
  totalSizeMB: number;
  /** What was changed from a preset (from `spec.adaptations`). */
  adaptations: string[];
  /** The Keras 2 `model.summary()`-style table. */
  kerasTable: string;
  /** The torchsummary-style table. */
  torchTable: string;
}

const kerasClass: Record<LayerSpec['type'], string> = {
  conv2d: 'Conv2D',
  batchNorm: 'BatchNormalization',
  dropout: 'Dropout',
  activation: 'Activation',
  maxPool: 'MaxPooling2D',
  avgPool: 'AveragePooling2D',
  globalAvgPool: 'GlobalAveragePooling2D',
  flatten: 'Flatten',
  dense: 'Dense',
};

const torchActivation: Record<ActivationName, string> = {
  relu: 'ReLU',
  tanh: 'Tanh',
  sigmoid: 'Sigmoid',
  elu: 'ELU',
  swish: 'SiLU',
  softmax: 'Softmax',
  linear: 'Identity',
};

const MB = 1024 ** 2;

/** `[h, w, c]` → `[c, h, w]`; vectors unchanged. */
function toTorchShape(s: Shape): number[] {
  return s.length === 3 ? [s[2], s[0], s[1]] : [...s];
}

/**
 * Summarises a spec, without TensorFlow: the Keras-style rows (one per layer of the built
 * TensorFlow.js model, including any `ZeroPadding2D` the builder inserts) and the torchsummary-style
 * rows (one per PyTorch module of the equivalent network: fused activations become their own
 * `ReLU`/`Softmax`/… rows, flatten is a `view` and has no row), with totals in both conventions.
 * @throws SpecError when the spec is malformed or does not fit its input.
 */
export function summary(spec: ModelSpec): ModelSummary {
  const s = validateSpec(spec);
  const inferred = inferShapes(s);
  const keras: KerasRow[] = [];
  const torch: TorchRow[] = [];
  const addTorch = (module: string, specIndex: number, shape: Shape, params: number): void => {
    torch.push({
      label: `${module}-${torch.length + 1}`,
      module,
      specIndex,
      outputShape: toTorchShape(shape),
      params,
    });
  };
  inferred.layers.forEach((info, i) => {
    const layer = s.layers[i];
    if (layer.type === 'conv2d') {
      const plan = convPaddingPlan(layer);
      if (plan.zeroPad > 0) {
        const [h, w, c] = info.inputShape;
        keras.push({
          name: `${info.name}_pad`,
          className: 'ZeroPadding2D',
          specIndex: i,
          outputShape: [h + 2 * plan.zeroPad, w + 2 * plan.zeroPad, c],
          params: 0,
          trainableParams: 0,
          nonTrainableParams: 0,
        });
      }
    }
    keras.push({
      name: info.name,
      className: kerasClass[layer.type],
      specIndex: i,
      outputShape: info.outputShape,
      params: info.params,
      trainableParams: info.trainableParams,
      nonTrainableParams: info.nonTrainableParams,
    });
    switch (layer.type) {
      case 'conv2d':
      case 'dense':
        addTorch(layer.type === 'conv2d' ? 'Conv2d' : 'Linear', i, info.outputShape, info.torchParams);
        if (layer.activation && layer.activation !== 'linear') {
          addTorch(torchActivation[layer.activation], i, info.outputShape, 0);
        }
        break;
      case 'batchNorm':
        addTorch(
          info.outputShape.length === 3 ? 'BatchNorm2d' : 'BatchNorm1d',
          i,
          info.outputShape,
          info.torchParams,
        );
        break;
      case 'dropout':
        addTorch('Dropout', i, info.outputShape, 0);
        break;
      case 'activation':
        addTorch(torchActivation[layer.activation], i, info.outputShape, 0);
        break;
      case 'maxPool':
      case 'avgPool':
        addTorch(layer.type === 'maxPool' ? 'MaxPool2d' : 'AvgPool2d', i, info.outputShape, 0);
        break;
      case 'globalAvgPool':
        addTorch('AdaptiveAvgPool2d', i, [1, 1, info.outputShape[0]], 0);
        break;
      case 'flatten':
        break;
    }
  });
  const elements = torch.reduce((a, r) => a + r.outputShape.reduce((x, y) => x * y, 1), 0);
  const inputSizeMB = (s.input[0] * s.input[1] * s.input[2] * 4) / MB;
  const forwardBackwardMB = (2 * elements * 4) / MB;
  const paramsSizeMB = (inferred.torchParams * 4) / MB;
  const partial = {
    name: s.name,
    input: s.input,
    classes: s.classes,
    rows: keras,
    torchRows: torch,
    totalParams: inferred.totalParams,
    trainableParams: inferred.trainableParams,
    nonTrainableParams: inferred.nonTrainableParams,
    torchParams: inferred.torchParams,
    inputSizeMB,
    forwardBackwardMB,
    paramsSizeMB,
    totalSizeMB: inputSizeMB + forwardBackwardMB + paramsSizeMB,
    adaptations: s.adaptations ?? [],
  };
  return { ...partial, kerasTable: renderKeras(partial), torchTable: renderTorch(partial) };
}

/** A summary without its rendered tables: what the renderers need. */
export type SummaryData = Omit<ModelSummary, 'kerasTable' | 'torchTable'>;

/** Thousands separators as Python's `'{:,}'`. */
function commas(n: number): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: 0 });
}

function adaptationLines(t: SummaryData): string[] {
  if (t.adaptations.length === 0) return [];
  return ['Adapted from the published network:', ...t.adaptations.map((a) => `  - ${a}`)];
}

/** Keras 2 `print_summary` row: each field cut to its column, one space before the next column. */
function kerasRow(fields: string[], positions: number[]): string {
  let line = '';
  fields.forEach((f, i) => {
    if (i > 0) line = `${line.slice(0, -1)} `;
    line += f;
    line = line.slice(0, positions[i]);
    line += ' '.repeat(positions[i] - line.length);
  });
  return line.trimEnd();
}

/** Renders the Keras 2 `model.summary()` table of a sequential model (65 columns). */
export function renderKeras(t: SummaryData): string {
  const width = 65;
  const positions = [29, 55, 65];
  const lines = [
    `Model: "${t.name}"`,
    '_'.repeat(width),
    kerasRow(['Layer (type)', 'Output Shape', 'Param #'], positions),
  ];
  lines.push('='.repeat(width));
  t.rows.forEach((r, i) => {
    const shape = `(None, ${r.outputShape.join(', ')})`;
    lines.push(kerasRow([`${r.name} (${r.className})`, shape, String(r.params)], positions));
    lines.push((i === t.rows.length - 1 ? '=' : '_').repeat(width));
  });
  lines.push(
    `Total params: ${commas(t.totalParams)}`,
    `Trainable params: ${commas(t.trainableParams)}`,
    `Non-trainable params: ${commas(t.nonTrainableParams)}`,
    '_'.repeat(width),
    ...adaptationLines(t),
  );
  return `${lines.join('\n')}\n`;
}

/** Renders the torchsummary table (`{:>20}  {:>25} {:>15}` columns, sizes for batch 1 in MB). */
export function renderTorch(t: SummaryData): string {
  const row = (a: string, b: string, c: string): string =>
    `${a.padStart(20)}  ${b.padStart(25)} ${c.padStart(15)}`;
  const dash = '-'.repeat(64);
  const lines = [dash, row('Layer (type)', 'Output Shape', 'Param #'), '='.repeat(64)];
  for (const r of t.torchRows)
    lines.push(row(r.label, `[-1, ${r.outputShape.join(', ')}]`, commas(r.params)));
  lines.push(
    '='.repeat(64),
    `Total params: ${commas(t.torchParams)}`,
    `Trainable params: ${commas(t.torchParams)}`,
    'Non-trainable params: 0',
    dash,
    `Input size (MB): ${t.inputSizeMB.toFixed(2)}`,
    `Forward/backward pass size (MB): ${t.forwardBackwardMB.toFixed(2)}`,
    `Params size (MB): ${t.paramsSizeMB.toFixed(2)}`,
    `Estimated Total Size (MB): ${t.totalSizeMB.toFixed(2)}`,
    dash,
    ...adaptationLines(t),
  );
  return `${lines.join('\n')}\n`;
}
