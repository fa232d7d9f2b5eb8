import { checkSeed } from './options.js';
/**
 * A small, fast, seeded pseudo-random generator (mulberry32) so shuffles, splits and augmentation
 * are reproducible from one integer seed, on any platform and Node version.
 */
export interface Rng {
  /** Uniform float in [0, 1). */
  next(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** Uniform 32-bit unsigned integer. */
  uint32(): number;
}

/** Mixes one or more integers into a well-spread 32-bit seed (used to derive per-epoch streams). */
export function mixSeed(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const part of parts) {
    // Fold values beyond 32 bits in, so seeds like Date.now() keep their entropy.
    const lo = part >>> 0;
    const hi = Math.floor(part / 0x100000000) >>> 0;
    for (const word of [lo, hi]) {
      h = Math.imul(h ^ word, 0x85ebca6b);
      h ^= h >>> 13;
      h = Math.imul(h, 0xc2b2ae35);
      h ^= h >>> 16;
    }
  }
  return h >>> 0;
}

/** Creates a mulberry32 generator; the same seed always yields the same sequence. */
export function createRng(seed: number): Rng {
  checkSeed(seed);
  let state = mixSeed(seed);
  const uint32 = (): number => {
    state = (state + 0x6d2b79f5) | 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  const next = (): number => uint32() / 0x100000000;
  const int = (n: number): number => Math.floor(next() * n);
  return { next, int, uint32 };
}

/** Fisher–Yates shuffle of `array` in place with `rng`; returns the same array. */
export function shuffleInPlace<T extends { length: number; [i: number]: number }>(array: T, rng: Rng): T {
  for (let i = array.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const tmp = array[i];
    array[i] = array[j];
    array[j] = tmp;
  }
  return array;
}

/** A seeded random permutation of `0 .. n-1`. */
export function permutation(n: number, seed: number): Uint32Array {
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  return shuffleInPlace(order, createRng(seed));
}
