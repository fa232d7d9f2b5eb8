/**
 * The index of the first value that is NaN or ±Infinity, or -1 when all are finite. Used where
 * numbers enter (inputs, weights, normalisation) so a NaN is refused there instead of turning
 * into a wrong label further on (`argmax` of a NaN row is 0).
 */
export function nonFiniteIndex(values: ArrayLike<number>): number {
  for (let i = 0; i < values.length; i++) {
    // x - x is 0 for every finite x and NaN for NaN and ±Infinity: one test, no branches per kind.
    if (values[i] - values[i] !== 0) return i;
  }
  return -1;
}
