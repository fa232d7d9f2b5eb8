import * as tf from './tfjs.js';

/** The global L2 norm of a list of tensors: `sqrt(Σ ‖g_i‖²)`, as a scalar tensor. */
export function globalNorm(tensors: readonly tf.Tensor[]): tf.Scalar {
  return tf.tidy(() => tf.sqrt(tf.addN(tensors.map((t) => tf.sum(tf.square(t))))) as tf.Scalar);
}

/** Gradient clipping options. */
export interface ClipOptions {
  /** Clip every element to `[-clipValue, clipValue]` (applied first). */
  clipValue?: number;
  /** Rescale all gradients together so their global norm is at most `clipNorm`. */
  clipNorm?: number;
}

/**
 * Clips gradients by value and/or by global norm (PyTorch `clip_grad_norm_` semantics), entirely
 * on the device: no read-back. Returns the inputs unchanged when no clipping is asked for.
 */
export function clipGradients(grads: readonly tf.Tensor[], options: ClipOptions): tf.Tensor[] {
  let out = [...grads];
  const { clipValue, clipNorm } = options;
  if (clipValue !== undefined) out = out.map((g) => tf.clipByValue(g, -clipValue, clipValue));
  if (clipNorm !== undefined && out.length > 0) {
    const norm = globalNorm(out);
    const scale = tf.div(clipNorm, tf.maximum(norm, clipNorm));
    out = out.map((g) => tf.mul(g, scale));
  }
  return out;
}
