import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Classifier } from '@lenet/common';
import type { MeanStd } from '@lenet/datasets';
import { BadInputError } from './errors.js';
import type { CliIo } from './io.js';

/** A saved model of either runtime, behind the one `Classifier` interface for `eval` and `predict`. */
export interface LoadedClassifier {
  /** `TensorFlow.js (<backend>)` or `ONNX Runtime (<provider>)`. */
  runtime: string;
  /** What `@lenet/train`'s `evaluate` and `predict` run. */
  classifier: Classifier;
  /** `[height, width, channels]` the model takes (NaN where the model accepts any size). */
  input: [number, number, number];
  classNames: string[];
  dispose(): Promise<void>;
}

function inputOf(classifier: Classifier): [number, number, number] {
  const [h, w, c] = classifier.inputSize;
  return [h ?? Number.NaN, w ?? Number.NaN, c ?? Number.NaN];
}
/**
 * Loads `path`: a `.onnx` file, a TensorFlow.js model directory, or a run directory holding
 * `model/`. onnxruntime's own log lines reach the terminal only with `--verbose` (and colour allowed).
 */
export async function loadClassifier(
  path: string,
  activate: () => Promise<{ name: string }>,
  io?: Pick<CliIo, 'verbose' | 'color'>,
): Promise<LoadedClassifier> {
  if (!existsSync(path)) throw new BadInputError(`${path}: model file or directory not found`);
  if (path.endsWith('.onnx')) return loadOnnx(path, io?.verbose && io.color !== false ? 'warning' : 'error');
  let dir = path;
  if (
    statSync(path).isDirectory() &&
    !existsSync(join(path, 'model.json')) &&
    existsSync(join(path, 'model', 'model.json'))
  ) {
    dir = join(path, 'model');
  }
  if (!existsSync(join(dir, 'model.json'))) {
    throw new BadInputError(`${path}: not a model (expected a .onnx file or a directory with model.json)`);
  }
  return loadTfjs(dir, activate);
}

async function loadOnnx(path: string, logLevel: 'warning' | 'error'): Promise<LoadedClassifier> {
  const { OnnxClassifier } = await import('@lenet/onnx');
  // An OnnxError reaches the CLI's one exit-code mapping as it is.
  const c = await OnnxClassifier.load(path, { executionProviders: ['cpu'], logLevel });
  // The classifier normalises as the file's metadata says (pixel / 255 when it says nothing).
  return {
    runtime: `ONNX Runtime (${c.info.executionProvider})`,
    classifier: c,
    input: inputOf(c),
    classNames: c.info.classNames,
    dispose: () => c.dispose(),
  };
}

async function loadTfjs(dir: string, activate: () => Promise<{ name: string }>): Promise<LoadedClassifier> {
  const backend = await activate();
  const { modelClassifier } = await import('@lenet/train');
  const { loadModel, readModelMetadata, ModelFileError } = await import('@lenet/models/tf');
  let model: import('./tfjs.js').LayersModel;
  let meta: Record<string, unknown>;
  try {
    model = await loadModel(dir);
    meta = (await readModelMetadata(dir)) ?? {};
  } catch (e) {
    if (e instanceof ModelFileError) throw new BadInputError(e.message);
    throw e;
  }
  // Fed as it was trained: the statistics saved with the model, else pixel / 255.
  const classifier = modelClassifier(model, { normalize: normalizationOf(meta.normalize) });
  const { classes } = classifier;
  const names = Array.isArray(meta.classNames) ? (meta.classNames as string[]) : [];
  const classNames = names.length === classes ? names : Array.from({ length: classes }, (_, i) => String(i));
  return {
    runtime: `TensorFlow.js (${backend.name})`,
    classifier,
    input: inputOf(classifier),
    classNames,
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
