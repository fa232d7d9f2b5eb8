import { type CompiledInferenceNet, compileInferenceNet } from '@lenet/backend';
import type { ImageBatchInput } from '@lenet/common';
import { modelNetSpec } from './compiled-step.js';
import type { ModelInfo } from './model-info.js';
import * as tf from './tfjs.js';

/**
 * The environment variable that switches the compiled inference off (`0`) for every `predict`,
 * `evaluate` and `modelClassifier` in the process, for A/B measurements; any other value, or
 * none, leaves the choice to their `compiled` option.
 */
export const COMPILED_INFERENCE_ENV = 'LENET_COMPILED_INFERENCE';

/** Which implementation runs a TensorFlow.js model's forward pass in `predict` and `evaluate`, and why. */
export interface InferencePath {
  /** `'compiled'`: the fixed kernel sequence on wasm; `'tfjs'`: `model.predict`. */
  kind: 'compiled' | 'tfjs';
  /** Why `model.predict` (the first thing the compiled pass does not cover, or the switch that turned it off); null when compiled. */
  reason: string | null;
}

/** A model's class probabilities for NHWC batches, compiled or through `model.predict`. */
export interface ModelInference {
  readonly path: InferencePath;
  /** Probabilities of a batch, row-major `n × classes`, in a new array. */
  probabilities(batch: ImageBatchInput): Promise<Float32Array>;
  /** Frees the compiled pass's buffers until the next call. */
  release(): void;
  /** Frees what the compiled pass holds for good (the model stays). */
  dispose(): void;
}

/** `model.predict` in inference mode, softmax applied when the model ends in logits. */
async function predicted(
  model: tf.LayersModel,
  info: ModelInfo,
  batch: ImageBatchInput,
): Promise<Float32Array> {
  const out = tf.tidy(() => {
    const y = model.predict(tf.tensor4d(batch.x, batch.shape)) as tf.Tensor;
    return info.fromLogits ? tf.softmax(y) : y;
  });
  try {
    return (await out.data()) as Float32Array;
  } finally {
    out.dispose();
  }
}

/** The compiled net for `model`, or why `model.predict` runs instead. */
function chooseNet(
  model: tf.LayersModel,
  info: ModelInfo,
  compiled: boolean,
): { net: CompiledInferenceNet; reason: null } | { net: null; reason: string } {
  const no = (reason: string) => ({ net: null, reason });
  if (!compiled) return no('compiled: false');
  if (process.env[COMPILED_INFERENCE_ENV] === '0') return no(`${COMPILED_INFERENCE_ENV}=0`);
  if (tf.getBackend() !== 'wasm') return no(`backend ${tf.getBackend()}`);
  const translated = modelNetSpec(model, { inference: true });
  if ('reason' in translated) return no(translated.reason);
  const net = compileInferenceNet(translated.spec);
  if (net === undefined) return no('no wasm SIMD kernels');
  if (net.outputs !== info.classes) {
    net.dispose();
    return no(`the last layer gives ${net.outputs} values for ${info.classes} classes`);
  }
  return { net, reason: null };
}

/**
 * How `predict` and `evaluate` run a TensorFlow.js model: on wasm with the SIMD kernels, for a
 * sequential model of the layers the compiled training step covers (frozen ones too), the forward
 * pass as one compiled kernel sequence (`compileInferenceNet` of @lenet/backend), giving
 * `model.predict`'s probabilities bit for bit; `model.predict` for every other model or backend,
 * with `compiled: false`, or with {@link COMPILED_INFERENCE_ENV}=0. The compiled pass reads the
 * model's variables at every call, so it follows training and `setWeights`.
 */
export function modelInference(
  model: tf.LayersModel,
  info: ModelInfo,
  options: { compiled?: boolean } = {},
): ModelInference {
  const { net, reason } = chooseNet(model, info, options.compiled ?? true);
  const path: InferencePath = net ? { kind: 'compiled', reason: null } : { kind: 'tfjs', reason };
  return {
    path,
    async probabilities(batch) {
      // A backend switched since (the net is bound to the wasm backend it was made on): TF.js.
      if (net === null || !net.usable()) return predicted(model, info, batch);
      return net.probabilities(batch.x, batch.shape[0]);
    },
    release() {
      net?.release();
    },
    dispose() {
      net?.dispose();
    },
  };
}
