import { BackendError } from '../errors.js';
import type * as tf from '../tfjs.js';

/** Activations the compiled step runs inside a layer or as a layer of its own. */
export type NetActivation = 'linear' | 'relu' | 'tanh';

/**
 * One layer of a network for {@link compileTrainingNet}: a chain of these, NHWC, float32. Layers
 * with weights name the TF.js variables that hold them; the compiled step reads and updates
 * those in place, so the model keeps the only copy.
 */
export type NetLayer =
  | {
      type: 'conv2d';
      /** [kh, kw, ci, co], TensorFlow's filter layout. */
      kernel: tf.Variable;
      bias?: tf.Variable;
      strides: [number, number];
      padding: 'same' | 'valid';
      activation: NetActivation;
    }
  | {
      type: 'dense';
      kernel: tf.Variable;
      bias?: tf.Variable;
      /**
       * `'softmax'` (the last layer only): the net's output is this layer's logits, and
       * `CompiledTrainingNet.softmax` gives their softmax, the model's output.
       */
      activation: NetActivation | 'softmax';
    }
  | {
      type: 'pool';
      op: 'max' | 'avg';
      size: [number, number];
      strides: [number, number];
    }
  | {
      /**
       * Batch norm over the last axis, training mode: batch statistics, moving averages updated.
       * `momentum` and `epsilon` are read at every forward pass (a getter may follow a layer's).
       */
      type: 'batchNorm';
      gamma: tf.Variable;
      beta: tf.Variable;
      movingMean: tf.Variable;
      movingVariance: tf.Variable;
      /** Keras's momentum: moving ← moving − (moving − batch)·(1 − momentum). */
      momentum: number;
      epsilon: number;
    }
  | {
      /**
       * Dropout in training: a mask when 0 < rate < 1, else the identity, as tfjs-layers. `rate`
       * is read at every forward pass (a getter may follow a layer's, which callbacks change).
       */
      type: 'dropout';
      rate: number;
    }
  | {
      /** Zero padding of the two spatial axes: [[top, bottom], [left, right]]. */
      type: 'zeroPad';
      padding: [[number, number], [number, number]];
    }
  /** The mean over the two spatial axes: [h, w, c] → [c]. */
  | { type: 'globalAvgPool' }
  | { type: 'activation'; activation: NetActivation }
  | { type: 'flatten' };

/** A network for {@link compileTrainingNet}: its per-sample input shape and its layers. */
export interface NetSpec {
  /** [height, width, channels]. */
  input: [number, number, number];
  layers: NetLayer[];
}

/** The trainable variables of a network, in the order {@link CompiledTrainingNet.backward} returns their gradients. */
export function netTrainableVariables(spec: NetSpec): tf.Variable[] {
  const vars: tf.Variable[] = [];
  for (const l of spec.layers) {
    if (l.type === 'conv2d' || l.type === 'dense') {
      vars.push(l.kernel);
      if (l.bias) vars.push(l.bias);
    } else if (l.type === 'batchNorm') {
      vars.push(l.gamma, l.beta);
    }
  }
  return vars;
}

/** Every variable a network reads or writes (trainable ones, then the batch-norm statistics). */
export function netVariables(spec: NetSpec): tf.Variable[] {
  const stats = spec.layers.flatMap((l) => (l.type === 'batchNorm' ? [l.movingMean, l.movingVariance] : []));
  return [...netTrainableVariables(spec), ...stats];
}

/** Throws a BackendError naming layer `index` of a network spec (for a training or an inference net). */
export function netSpecError(index: number, message: string): never {
  throw new BackendError(`compiled net, layer ${index}: ${message}`, 'wasm');
}

/** Checks that a variable is float32 with the given shape. */
export function checkVariable(index: number, what: string, v: tf.Variable, shape: readonly number[]): void {
  if (v.dtype !== 'float32' || v.shape.join() !== shape.join()) {
    netSpecError(
      index,
      `${what} must be float32 [${shape.join(', ')}], got ${v.dtype} [${v.shape.join(', ')}]`,
    );
  }
}
