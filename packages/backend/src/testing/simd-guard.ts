import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { registerWasmTrainingKernels } from '../register.js';
import * as tf from '../tfjs.js';
import { type SimdKernels, simdKernels } from '../wasm-kernels/simd.js';

/** The SIMD kernels of the wasm backend, made the active backend (for tests that call them directly). */
export async function wasmSimdKernels(): Promise<SimdKernels> {
  await registerWasmTrainingKernels();
  await tf.setBackend('wasm');
  const k = simdKernels(tf.backend() as BackendWasm);
  if (k === undefined) throw new Error('wasm SIMD is not available on this runtime');
  return k;
}

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

/**
 * Calls `tap(xIndex, wIndex, yIndex)` for every multiply-add of a stride-1 valid convolution of
 * x [n, hp, wp, ci] by a k×k filter [k, k, ci, co] into y [n, hp − k + 1, wp − k + 1, co].
 */
export function forEachTap(
  [n, hp, wp, ci, co, k]: number[],
  tap: (xi: number, wi: number, yi: number) => void,
): void {
  const [oh, ow] = [hp - k + 1, wp - k + 1];
  for (let b = 0; b < n; b++)
    for (let y = 0; y < oh; y++)
      for (let xx = 0; xx < ow; xx++)
        for (let a = 0; a < k; a++)
          for (let c = 0; c < k; c++)
            for (let i = 0; i < ci; i++)
              for (let o = 0; o < co; o++)
                tap(
                  ((b * hp + y + a) * wp + xx + c) * ci + i,
                  ((a * k + c) * ci + i) * co + o,
                  ((b * oh + y) * ow + xx) * co + o,
                );
}
