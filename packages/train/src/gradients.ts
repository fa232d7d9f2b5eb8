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

/**
 * Σ g² of one gradient in float32 as tfjs's Square and Sum kernels form it on wasm (the SIMD sum
 * over all axes: four lanes per block of 256 floats, the blocks added up, then the lanes).
 */
function squaredSum(g: Float32Array): number {
  const acc = [0, 0, 0, 0];
  const lanes = [0, 0, 0, 0];
  let i = 0;
  while (i + 4 <= g.length) {
    lanes.fill(0);
    const end = Math.min(i + 256, g.length);
    for (; i + 4 <= end; i += 4) {
      for (let k = 0; k < 4; k++) lanes[k] = Math.fround(lanes[k] + Math.fround(g[i + k] * g[i + k]));
    }
    for (let k = 0; k < 4; k++) acc[k] = Math.fround(acc[k] + lanes[k]);
  }
  let sum = 0;
  for (let k = 0; k < 4; k++) sum = Math.fround(sum + acc[k]);
  for (; i < g.length; i++) sum = Math.fround(sum + Math.fround(g[i] * g[i]));
  return sum;
}

/**
 * {@link clipGradients} in place on host arrays (the compiled step's gradients): the same rule,
 * by value first, then all together to a global norm of at most `clipNorm`, each step rounded
 * to float32 as tfjs's kernels on wasm round it, so the result is autodiff's bit for bit.
 */
export function clipGradientsHost(grads: readonly Float32Array[], options: ClipOptions): void {
  const { clipValue, clipNorm } = options;
  if (clipValue !== undefined) {
    const hi = Math.fround(clipValue);
    const lo = -hi;
    for (const g of grads) {
      for (let i = 0; i < g.length; i++) {
        if (g[i] < lo) g[i] = lo;
        else if (g[i] > hi) g[i] = hi;
      }
    }
  }
  if (clipNorm !== undefined && grads.length > 0) {
    // addN of the per-gradient sums, in order.
    let squares = 0;
    for (const g of grads) squares = Math.fround(squares + squaredSum(g));
    const limit = Math.fround(clipNorm);
    const norm = Math.fround(Math.sqrt(squares));
    const scale = Math.fround(limit / (norm > limit || Number.isNaN(norm) ? norm : limit));
    for (const g of grads) for (let i = 0; i < g.length; i++) g[i] *= scale;
  }
}
