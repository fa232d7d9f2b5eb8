import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Dataset, MeanStd } from '@lenet/datasets';
import { CliFailure } from './errors.js';

/** A saved model of either runtime, behind one interface for `eval` and `predict`. */
export interface LoadedClassifier {
  /** `TensorFlow.js (<backend>)` or `ONNX Runtime (<provider>)`. */
  runtime: string;
  /** `[height, width, channels]` the model takes. */
  input: [number, number, number];
  classNames: string[];
  /** Accuracy and arg-max predictions over a data set. */
  evaluate(ds: Dataset, batchSize: number): Promise<{ accuracy: number; predictions: Int32Array }>;
  /** Class probabilities (`n × classes`) of `n` uint8 NHWC images. */
  probabilities(images: Uint8Array, n: number): Promise<Float32Array>;
  dispose(): Promise<void>;
}

function toFloat(images: Uint8Array, channels: number, normalize: 'unit' | MeanStd): Float32Array {
  const x = new Float32Array(images.length);
  for (let i = 0; i < images.length; i++) {
    const v = images[i] / 255;
    x[i] = normalize === 'unit' ? v : (v - normalize.mean[i % channels]) / normalize.std[i % channels];
  }
  return x;
}

/** Loads `path`: a `.onnx` file, a TensorFlow.js model directory, or a run directory holding `model/`. */
export async function loadClassifier(
  path: string,
  activate: () => Promise<{ name: string }>,
): Promise<LoadedClassifier> {
  if (!existsSync(path)) throw new CliFailure(`${path}: model file or directory not found`);
  if (path.endsWith('.onnx')) return loadOnnx(path);
  let dir = path;
  if (
    statSync(path).isDirectory() &&
    !existsSync(join(path, 'model.json')) &&
    existsSync(join(path, 'model', 'model.json'))
  ) {
    dir = join(path, 'model');
  }
  if (!existsSync(join(dir, 'model.json'))) {
    throw new CliFailure(`${path}: not a model (expected a .onnx file or a directory with model.json)`);
  }
  return loadTfjs(dir, activate);
}

async function loadOnnx(path: string): Promise<LoadedClassifier> {
  const { OnnxClassifier, OnnxError } = await import('@lenet/onnx');
  let c: import('@lenet/onnx').OnnxClassifier;
  try {
    c = await OnnxClassifier.load(path, { executionProviders: ['cpu'] });
  } catch (e) {
    if (e instanceof OnnxError) throw new CliFailure(e.message);
    throw e;
  }
  const info = c.info;
  const dims = info.inputShape.map(Number);
  const input: [number, number, number] =
    info.inputLayout === 'NCHW' ? [dims[2], dims[3], dims[1]] : [dims[1], dims[2], dims[3]];
  const normalize = normalizationOf(info.normalization);
  const probabilities = async (images: Uint8Array, n: number) => {
    const x = toFloat(images, input[2], normalize);
    const p = await c.predict(x, [n, input[0], input[1], input[2]], { layout: 'NHWC' });
    return p.probabilities;
  };
  return {
    runtime: `ONNX Runtime (${info.executionProvider})`,
    input,
    classNames: info.classNames,
    probabilities,
    evaluate: (ds, batchSize) => evaluateWith(ds, batchSize, probabilities, info.classNames.length),
    dispose: () => c.dispose(),
  };
}

async function loadTfjs(dir: string, activate: () => Promise<{ name: string }>): Promise<LoadedClassifier> {
  const backend = await activate();
  const tf = await import('@tensorflow/tfjs');
  const { loadModel, readModelMetadata, ModelFileError } = await import('@lenet/train');
  let model: import('@tensorflow/tfjs').LayersModel;
  let meta: Record<string, unknown>;
  try {
    model = await loadModel(dir);
    meta = (await readModelMetadata(dir)) ?? {};
  } catch (e) {
    if (e instanceof ModelFileError) throw new CliFailure(e.message);
    throw e;
  }
  const shape = model.inputs[0].shape;
  const input: [number, number, number] = [Number(shape[1]), Number(shape[2]), Number(shape[3])];
  const classes = Number(model.outputs[0].shape[1]);
  const names = Array.isArray(meta.classNames) ? (meta.classNames as string[]) : [];
  const classNames = names.length === classes ? names : Array.from({ length: classes }, (_, i) => String(i));
  const normalize = normalizationOf(meta.normalize);
  const probabilities = async (images: Uint8Array, n: number) => {
    const x = toFloat(images, input[2], normalize);
    const out = tf.tidy(
      () => model.predict(tf.tensor4d(x, [n, ...input])) as import('@tensorflow/tfjs').Tensor,
    );
    const data = (await out.data()) as Float32Array;
    out.dispose();
    return data;
  };
  return {
    runtime: `TensorFlow.js (${backend.name})`,
    input,
    classNames,
    probabilities,
    evaluate: (ds, batchSize) => evaluateWith(ds, batchSize, probabilities, classes),
    dispose: async () => {
      model.dispose();
    },
  };
}

/** The `normalize` a model was trained with, from its metadata; `'unit'` when absent. */
export function normalizationOf(value: unknown): 'unit' | MeanStd {
  if (value && typeof value === 'object') {
    const { mean, std } = value as { mean?: unknown; std?: unknown };
    if (Array.isArray(mean) && Array.isArray(std)) return { mean: mean.map(Number), std: std.map(Number) };
  }
  return 'unit';
}

async function evaluateWith(
  ds: Dataset,
  batchSize: number,
  probabilities: (images: Uint8Array, n: number) => Promise<Float32Array>,
  classes: number,
): Promise<{ accuracy: number; predictions: Int32Array }> {
  const per = ds.height * ds.width * ds.channels;
  const predictions = new Int32Array(ds.count);
  let correct = 0;
  for (let start = 0; start < ds.count; start += batchSize) {
    const n = Math.min(batchSize, ds.count - start);
    const p = await probabilities(ds.images.subarray(start * per, (start + n) * per), n);
    for (let i = 0; i < n; i++) {
      let best = 0;
      for (let j = 1; j < classes; j++) if (p[i * classes + j] > p[i * classes + best]) best = j;
      predictions[start + i] = best;
      if (best === ds.labels[start + i]) correct++;
    }
  }
  return { accuracy: ds.count ? correct / ds.count : 0, predictions };
}
