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

/**
 * Whether a classifier keeps the compiled pass's buffers from one call to the next while the calls
 * follow each other; internal switch for A/B measurements ({@link setClassifierBufferReuse}).
 */
let reuseBuffers = true;

/**
 * Internal (not exported by the package): `false` makes every `modelClassifier` call lay the
 * compiled pass's buffers out afresh and free them before it returns, as before round 8, for
 * A/B measurements.
 */
export function setClassifierBufferReuse(enabled: boolean): void {
  reuseBuffers = enabled;
}

/** A TensorFlow.js model as a `Classifier`, and how its forward pass runs. */
export interface ModelClassifier extends Classifier {
  /** Compiled or `model.predict`, and why (as decided when the classifier was made). */
  readonly path: InferencePath;
  /** Frees the compiled pass's buffers now, not when the event loop next runs its timers (the next call lays them out again). */
  release(): void;
}

/**
 * A TensorFlow.js classifier behind the `Classifier` interface of `@lenet/common`: NHWC batches,
 * probabilities (softmax applied when the model ends in logits), in inference mode (dropout off,
 * batch norm on its moving statistics). The compiled pass's buffers stay from one call to the next
 * while the calls follow each other (a loop awaiting them: laying them out again costs as much as
 * 3 % of a VGG call, clearing the layers' scratch) and are freed when the event loop next runs its
 * timers, so the classifier needs no disposing.
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
  let pendingRelease: ReturnType<typeof setTimeout> | undefined;
  return {
    classes: info.classes,
    inputSize: [info.height, info.width, info.channels],
    layout: 'NHWC',
    normalization: options.normalize ?? 'unit',
    get path() {
      return inference().path;
    },
    release() {
      clearTimeout(pendingRelease);
      pendingRelease = undefined;
      made?.release();
    },
    async probabilities(batch: ImageBatchInput): Promise<Float32Array> {
      const run = inference();
      clearTimeout(pendingRelease);
      pendingRelease = undefined;
      try {
        return await run.probabilities(batch);
      } finally {
        if (reuseBuffers) {
          pendingRelease = setTimeout(() => {
            pendingRelease = undefined;
            run.release();
          }, 0);
          // Nothing to wait for at exit: the process's end frees the heap anyway.
          pendingRelease.unref?.();
        } else run.release();
      }
    },
  };
}

/** True for a `Classifier`, false for a TensorFlow.js model (which has no `probabilities`). */
export function isClassifier(value: Classifier | tf.LayersModel): value is Classifier {
  return typeof (value as Partial<Classifier>).probabilities === 'function';
}
