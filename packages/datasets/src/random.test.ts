import { describe, expect, it } from 'vitest';
import { createRng, mixSeed, permutation, shuffleInPlace } from './random.js';

describe('random', () => {
  it('is deterministic per seed and uniform enough', () => {
    const a = createRng(123);
    const b = createRng(123);
    const xs = Array.from({ length: 5 }, () => a.uint32());
    expect(Array.from({ length: 5 }, () => b.uint32())).toEqual(xs);
    expect(Array.from({ length: 5 }, () => createRng(124).uint32())).not.toEqual(xs);
    const rng = createRng(9);
    const buckets = new Array<number>(10).fill(0);
    for (let i = 0; i < 10000; i++) {
      const v = rng.next();
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThan(1);
      buckets[rng.int(10)]++;
    }
    for (const n of buckets) expect(Math.abs(n - 1000)).toBeLessThan(150);
  });

  it('pins the sequence so shuffles stay reproducible across versions', () => {
    expect(Array.from(permutation(10, 0))).toEqual(Array.from(permutation(10, 0)));
    expect(Array.from(permutation(10, 0)).sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(PINNED).toEqual(Array.from(permutation(10, 2024)));
  });

  it('shuffles in place and mixes seeds', () => {
    const arr = Uint32Array.from({ length: 20 }, (_, i) => i);
    shuffleInPlace(arr, createRng(5));
    expect(Array.from(arr).sort((x, y) => x - y)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(mixSeed(1, 0)).not.toBe(mixSeed(0, 1));
    expect(mixSeed(2 ** 40)).not.toBe(mixSeed(0));
    expect(() => createRng(Number.NaN)).toThrow(/seed must be a finite number/);
  });
});

// Regression pin: the permutation this implementation gives for seed 2024 (mulberry32 + Fisher–Yates).
const PINNED: number[] = [1, 0, 2, 5, 7, 9, 3, 4, 8, 6];
