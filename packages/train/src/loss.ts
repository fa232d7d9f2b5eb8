import { TrainError } from './errors.js';
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

/** What {@link crossEntropyHost} adds up over a batch. */
export interface HostLoss {
  /** Σ per-sample cross-entropy. */
  lossSum: number;
  /** Σ of the model output (probabilities, or logits when `fromLogits`). */
  outputSum: number;
  /** Samples whose arg-max class is the label. */
  correct: number;
}

const PROBABILITY_MIN = Math.fround(PROBABILITY_EPSILON);
const PROBABILITY_MAX = Math.fround(1 - PROBABILITY_EPSILON);

/**
 * {@link crossEntropySum} divided by the batch size, and its gradient, on host arrays for the
 * compiled step. The model's output is `probs` [n, classes], the softmax of `logits` as tfjs's
 * Softmax kernel computed it, or, with `fromLogits`, `logits` itself (then `probs` is unused).
 * Writes the gradient of the batch-mean loss with respect to `logits` into `grad`. From
 * probabilities, that is the gradient tfjs's tape forms — through the division by n, the sum,
 * the product with the (smoothed) targets, the log, the clipping and the softmax — with every
 * step rounded to float32 as its kernel rounds it, so it is bit for bit autodiff's; from logits
 * it is `(softmax − target)/n` in float64. The loss itself is summed in float64.
 */
export function crossEntropyHost(
  logits: Float32Array,
  probs: Float32Array | null,
  labels: ArrayLike<number>,
  options: CrossEntropyOptions,
  grad: Float32Array,
): HostLoss {
  const k = options.classes;
  const n = labels.length;
  const eps = options.labelSmoothing ?? 0;
  // The targets as tfjs forms them: oneHot·(1 − ε) + ε/classes in float32.
  const on = eps > 0 ? Math.fround(Math.fround(1 - eps) + Math.fround(eps / k)) : 1;
  const off = eps > 0 ? Math.fround(eps / k) : 0;
  // d(sum / n)/d(sum) = 1/n in float32, negated by the sum's negation.
  const seed = -Math.fround(1 / n);
  const dp = new Float64Array(k);
  let lossSum = 0;
  let outputSum = 0;
  let correct = 0;
  for (let i = 0; i < n; i++) {
    const row = i * k;
    const label = labels[i];
    let best = 0;
    let loss = 0;
    if (options.fromLogits) {
      let max = Number.NEGATIVE_INFINITY;
      for (let j = 0; j < k; j++) max = Math.max(max, logits[row + j]);
      let sum = 0;
      for (let j = 0; j < k; j++) {
        dp[j] = Math.exp(logits[row + j] - max);
        sum += dp[j];
      }
      const logSum = Math.log(sum);
      for (let j = 0; j < k; j++) {
        const z = logits[row + j];
        const target = j === label ? on : off;
        outputSum += z;
        if (z > logits[row + best]) best = j;
        loss -= target * (z - max - logSum);
        grad[row + j] = (dp[j] / sum - target) / n;
      }
    } else {
      if (probs === null)
        throw new TrainError('loss', 'crossEntropyHost needs the probabilities of a softmax model');
      let dot = 0;
      for (let j = 0; j < k; j++) {
        const p = probs[row + j];
        const target = j === label ? on : off;
        outputSum += p;
        if (p > probs[row + best]) best = j;
        const clipped = Math.min(Math.max(p, PROBABILITY_MIN), PROBABILITY_MAX);
        // A zero target adds 0·log(clipped), which is 0 unless the probability is NaN: no log needed.
        if (target !== 0) loss -= target * Math.log(clipped);
        else if (Number.isNaN(clipped)) loss = Number.NaN;
        // Multiply's, Log's and ClipByValue's gradients, then Softmax's: dp·p summed in order.
        const dq = Math.fround(Math.fround(seed * target) / clipped);
        dp[j] = p >= PROBABILITY_MIN && p <= PROBABILITY_MAX ? dq : 0;
        dot = Math.fround(dot + Math.fround(dp[j] * p));
      }
      for (let j = 0; j < k; j++) {
        const p = probs[row + j];
        grad[row + j] = Math.fround(dp[j] * p) - Math.fround(dot * p);
      }
    }
    if (best === label) correct++;
    lossSum += loss;
  }
  return { lossSum, outputSum, correct };
}
