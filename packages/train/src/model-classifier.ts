import type { Classifier, ImageBatchInput } from '@lenet/common';
import type { MeanStd } from '@lenet/datasets';
import { type InferencePath, type ModelInference, modelInference } from './compiled-inference.js';
import { checkCompiledOption } from './compiled-step.js';
import { modelInfo } from './model-info.js';
import type * as tf from './tfjs.js';

/** Options of {@link modelClassifier}. */
export interface ModelClassifierOptions {
  /** Input normalisation the model was trained with (default `'unit'`: pixel / 255). */
  normalize?: 'unit' | MeanStd;
  /**
   * Run the forward pass as one compiled kernel sequence where it can (default true): on wasm
   * with the SIMD kernels, for a sequential model of covered layers — `model.predict`'s
   * probabilities bit for bit. `false` always takes `model.predict` (so does the environment
   * variable `LENET_COMPILED_INFERENCE=0`).
   */
  compiled?: boolean;
}

/** A TensorFlow.js model as a `Classifier`, and how its forward pass runs. */
export interface ModelClassifier extends Classifier {
  /** Compiled or `model.predict`, and why (as decided when the classifier was made). */
  readonly path: InferencePath;
}

/**
 * A TensorFlow.js classifier behind the `Classifier` interface of `@lenet/common`: NHWC batches,
 * probabilities (softmax applied when the model ends in logits), in inference mode (dropout off,
 * batch norm on its moving statistics). Each call holds the compiled pass's buffers only while
 * it runs, so the classifier needs no disposing.
 */
export function modelClassifier(
  model: tf.LayersModel,
  options: ModelClassifierOptions = {},
): ModelClassifier {
  checkCompiledOption(options.compiled);
  const info = modelInfo(model);
  // Made at first use: resolving a model to a classifier (as predict does) costs nothing then.
  let made: ModelInference | undefined;
  const inference = () => {
    made ??= modelInference(model, info, { compiled: options.compiled });
    return made;
  };
  return {
    classes: info.classes,
    inputSize: [info.height, info.width, info.channels],
    layout: 'NHWC',
    normalization: options.normalize ?? 'unit',
    get path() {
      return inference().path;
    },
    async probabilities(batch: ImageBatchInput): Promise<Float32Array> {
      const run = inference();
      try {
        return await run.probabilities(batch);
      } finally {
        run.release();
      }
    },
  };
}

/** True for a `Classifier`, false for a TensorFlow.js model (which has no `probabilities`). */
export function isClassifier(value: Classifier | tf.LayersModel): value is Classifier {
  return typeof (value as Partial<Classifier>).probabilities === 'function';
}
