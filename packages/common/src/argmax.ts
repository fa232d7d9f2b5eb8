import { LenetError } from './errors.js';

/**
 * The index of the largest score in each row of a row-major `[n, classes]` matrix. Ties go to the
 * lowest index, as in `numpy.argmax` and `tf.argMax`.
 */
export function argmax(scores: ArrayLike<number>, classes: number): Int32Array {
  if (!Number.isInteger(classes) || classes < 1) {
    throw new LenetError('INVALID_ARGUMENT', `argmax: classes must be a positive integer, got ${classes}`);
  }
  if (scores.length % classes !== 0) {
    throw new LenetError(
      'INVALID_ARGUMENT',
      `argmax: scores has ${scores.length} values, not a multiple of ${classes} classes (row-major [n, classes])`,
    );
  }
  const n = scores.length / classes;
  const out = new Int32Array(n);
  for (let row = 0; row < n; row++) {
    const base = row * classes;
    let best = 0;
    let bestScore = scores[base];
    for (let c = 1; c < classes; c++) {
      const s = scores[base + c];
      if (s > bestScore) {
        bestScore = s;
        best = c;
      }
    }
    out[row] = best;
  }
  return out;
}
