import * as tf from './tfjs.js';

/** Probability floor used when the model outputs probabilities, as Keras (`epsilon()`). */
export const PROBABILITY_EPSILON = 1e-7;

/** Options of {@link crossEntropySum}. */
export interface CrossEntropyOptions {
  /** Classes (the model's output width). */
  classes: number;
  /** The model's output is logits (no final softmax): use a stable log-softmax. */
  fromLogits: boolean;
  /** Label smoothing ε: targets become `(1-ε)·onehot + ε/classes`. */
  labelSmoothing?: number;
}

/**
 * Per-sample categorical cross-entropy summed over the batch: `Σ_i −Σ_k t_ik·log p_ik`, with
 * `p` the clipped probabilities (or `logSoftmax(logits)`), and `t` the one-hot labels, smoothed.
 */
export function crossEntropySum(
  output: tf.Tensor,
  labels: tf.Tensor,
  options: CrossEntropyOptions,
): tf.Scalar {
  return tf.tidy(() => {
    const eps = options.labelSmoothing ?? 0;
    let target: tf.Tensor = tf.cast(tf.oneHot(labels as tf.Tensor1D, options.classes), 'float32');
    if (eps > 0) target = tf.add(tf.mul(target, 1 - eps), eps / options.classes);
    const logP = options.fromLogits
      ? tf.logSoftmax(output)
      : tf.log(tf.clipByValue(output, PROBABILITY_EPSILON, 1 - PROBABILITY_EPSILON));
    return tf.neg(tf.sum(tf.mul(target, logP))) as tf.Scalar;
  });
}

/** Number of samples whose arg-max class equals the label, as a float32 scalar. */
export function correctCount(output: tf.Tensor, labels: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.sum(tf.cast(tf.equal(tf.argMax(output, 1), labels), 'float32')));
}
