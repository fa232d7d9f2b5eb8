import { SCAN_CHUNK, simdFiniteScan } from './finite-wasm.js';

/**
 * The index of the first value that is NaN or ±Infinity, or -1 when all are finite. Used where
 * numbers enter (inputs, weights, normalisation) so a NaN is refused there instead of turning
 * into a wrong label further on (`argmax` of a NaN row is 0).
 */
export function nonFiniteIndex(values: ArrayLike<number>): number {
  const n = values.length;
  const simd =
    values instanceof Float32Array && n >= SIMD_MIN_FLOATS && simdEnabled ? simdFiniteScan() : null;
  if (simd === null) return scanFrom(values, 0, n);
  const all = values as Float32Array;
  for (let start = 0; start < n; start += SCAN_CHUNK) {
    const end = Math.min(n, start + SCAN_CHUNK);
    // The module reads whole 64-byte blocks; the few floats after them are read here.
    const whole = start + ((end - start) & ~15);
    if (simd(all.subarray(start, whole)) || scanFrom(all, whole, end) >= 0) return scanFrom(all, start, end);
  }
  return -1;
}

/** Below this many floats the JS scan is as fast as copying into the module's memory. */
const SIMD_MIN_FLOATS = 1024;

let simdEnabled = true;

/** Turns the WebAssembly SIMD scan of {@link nonFiniteIndex} on or off (tests compare both). */
export function setFiniteScanSimdEnabled(on: boolean): void {
  simdEnabled = on;
}

/** {@link nonFiniteIndex} over `values[start..end)` in JS. */
function scanFrom(values: ArrayLike<number>, start: number, end: number): number {
  // x * 0 is ±0 for every finite x and NaN for NaN and ±Infinity, so a sum of them is 0 exactly
  // when all are finite. Four independent sums, no branch per value: about 3× faster than the
  // compare-and-branch loop on a batch of images (it runs on every inference call's input).
  let a = 0;
  let b = 0;
  let c = 0;
  let d = 0;
  let i = start;
  for (; i + 4 <= end; i += 4) {
    a += values[i] * 0;
    b += values[i + 1] * 0;
    c += values[i + 2] * 0;
    d += values[i + 3] * 0;
  }
  for (; i < end; i++) a += values[i] * 0;
  if (a + b + c + d === 0) return -1;
  for (let j = start; j < end; j++) {
    // x - x is 0 for every finite x and NaN for NaN and ±Infinity: one test, no branches per kind.
    if (values[j] - values[j] !== 0) return j;
  }
  return -1;
}
