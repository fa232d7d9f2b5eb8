import * as tf from '../tfjs.js';

/** Deterministic uniform [-1, 1) numbers (mulberry32), so failures reproduce. */
export function randomArray(length: number, seed: number): Float32Array {
  let a = seed >>> 0;
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  }
  return out;
}

/** A variable of `shape` holding {@link randomArray}'s numbers for `seed`, times `scale`. */
export function seededVariable(shape: number[], seed: number, scale = 1): tf.Variable {
  const values = randomArray(
    shape.reduce((a, b) => a * b, 1),
    seed,
  );
  return tf.variable(
    tf.tensor(
      values.map((x) => x * scale),
      shape,
    ),
  );
}

/** Integer in [0, n) from a seed, for picking test shapes. */
export function pick<T>(items: readonly T[], seed: number): T {
  return items[Math.abs(Math.imul(seed + 1, 2654435761)) % items.length];
}

/**
 * Relative error used throughout the tests: max|a − b| / max(1e-3, max|b|), with b the cpu
 * backend's result (the reference).
 */
export function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) return Number.POSITIVE_INFINITY;
  let diff = 0;
  let scale = 1e-3;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return diff / scale;
}

/** Runs `fn` with `backend` active and returns the typed-array data of its results. */
export async function onBackend(backend: string, fn: () => tf.Tensor[]): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const outs = tf.tidy(fn);
  const data = outs.map((t) => t.dataSync() as Float32Array);
  tf.dispose(outs);
  return data;
}
