import type { SimdKernels } from '../wasm-kernels/simd.js';

const GUARD = 37; // floats of sentinel on each side of an output
const SENTINEL = -12345.5;

/**
 * Runs `body` with `floats.length` buffers on the wasm heap, each with GUARD sentinel floats on
 * both sides; `fill` gives their initial contents. Returns the buffers after `body`, and
 * whether every guard float is untouched.
 */
export function guarded(
  simd: SimdKernels,
  contents: Float32Array[],
  body: (ptrs: number[]) => void,
): { out: Float32Array[]; guardsIntact: boolean } {
  return simd.withScratch(
    contents.map((c) => c.length + 2 * GUARD),
    (ptrs) => {
      ptrs.forEach((p, i) => {
        const all = simd.heap().subarray(p / 4, p / 4 + contents[i].length + 2 * GUARD);
        all.fill(SENTINEL);
        all.set(contents[i], GUARD);
      });
      body(ptrs.map((p) => p + GUARD * 4));
      let guardsIntact = true;
      const out = ptrs.map((p, i) => {
        const all = simd.heap().subarray(p / 4, p / 4 + contents[i].length + 2 * GUARD);
        for (let j = 0; j < GUARD; j++) {
          if (all[j] !== SENTINEL || all[all.length - 1 - j] !== SENTINEL) guardsIntact = false;
        }
        return all.slice(GUARD, GUARD + contents[i].length);
      });
      return { out, guardsIntact };
    },
  );
}
