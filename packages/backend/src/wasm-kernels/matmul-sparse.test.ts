import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { randomArray } from '../testing/helpers.js';
import { guarded, wasmSimdKernels } from '../testing/simd-guard.js';
import { setWasmKernelThreads } from './kernel-threads.js';
import {
  gemmSparse,
  gemmSparseTransposedA,
  setDenseSparseInputEnabled,
  setDenseSparseSplitEnabled,
  sparseGradientListFloats,
  sparseInputEntries,
  sparseListFloats,
} from './matmul.js';
import type { SimdKernels } from './simd.js';
import { splitCalls } from './split.js';

/**
 * A [m, k] random, with about `density` of its entries kept: whole runs of zeros (an image's empty
 * border: skipped four at a time) and scattered zeros between the kept ones.
 */
function sparseMatrix(m: number, k: number, density: number, seed: number): Float32Array {
  const a = randomArray(m * k, seed);
  const keep = randomArray(m * k, seed + 1);
  for (let i = 0; i < m * k; i++) {
    const border = i % k < k / 5;
    if (border || (keep[i] + 1) / 2 > density) a[i] = 0;
  }
  return a;
}

/** Every entry the same float, ±0 and NaN told apart. */
function sameBits(got: Float32Array, want: Float32Array): boolean {
  return got.length === want.length && got.every((v, i) => Object.is(v, want[i]));
}

describe('the dense products over the nonzero entries of A', () => {
  let simd: SimdKernels;
  beforeAll(async () => {
    simd = await wasmSimdKernels();
  });
  afterEach(() => {
    setDenseSparseInputEnabled(true);
  });

  // [m, k, n]: k past whole vectors, n in one block of 1–8 vectors and in several of equal width
  // (100: 7, 6, 6, 6).
  const SHAPES = [
    [1, 1, 4],
    [3, 7, 8],
    [5, 33, 28],
    [4, 50, 32],
    [6, 61, 36],
    [9, 784, 100],
  ];
  SHAPES.forEach(([m, k, n], s) => {
    for (const [withBias, relu] of [
      [false, false],
      [true, true],
    ])
      it(`A [${m}, ${k}] · B [${k}, ${n}]${withBias ? ' + bias, relu' : ''}: the dense kernel's sums bit for bit`, () => {
        const a = sparseMatrix(m, k, 0.3, 10 + s);
        const b = randomArray(k * n, 20 + s);
        const bias = withBias ? randomArray(n, 30 + s) : new Float32Array(n);
        const contents = [a, b, bias, new Float32Array(m * n), new Float32Array(m * n)];
        const listFloats = sparseListFloats(k);
        const { out, guardsIntact } = guarded(simd, [...contents, new Float32Array(listFloats)], (p) => {
          const [pa, pb, pBias, dense, sparse, list] = p;
          simd.fn.lenet_gemm(pa, k, 1, pb, dense, m, n, n, k, withBias ? pBias : 0, relu ? 1 : 0);
          simd.fn.lenet_gemm_sparse_a(pa, pb, withBias ? pBias : 0, sparse, m, n, k, relu ? 1 : 0, list);
        });
        expect(guardsIntact).toBe(true);
        expect(sameBits(out[4], out[3])).toBe(true);
      });
    it(`the weight gradient Aᵀ·B, A [${m}, ${k}], B [${m}, ${n}]: the dense kernel's sums bit for bit`, () => {
      const a = sparseMatrix(m, k, 0.3, 40 + s);
      const b = randomArray(m * n, 50 + s);
      const listFloats = sparseGradientListFloats(m, k);
      const contents = [a, b, new Float32Array(k * n), new Float32Array(k * n), new Float32Array(listFloats)];
      const { out, guardsIntact } = guarded(simd, contents, ([pa, pb, dense, sparse, list]) => {
        simd.fn.lenet_gemm(pa, 1, k, pb, dense, k, n, n, m, 0, 0);
        simd.fn.lenet_gemm_sparse_at(pa, k, pb, sparse, m, n, k, list);
      });
      expect(guardsIntact).toBe(true);
      expect(sameBits(out[3], out[2])).toBe(true);
    });
  });

  it('keeps NaN entries of A: their rows (forward) and columns (gradient) come out NaN', () => {
    const [m, k, n] = [3, 9, 4];
    const a = sparseMatrix(m, k, 0.3, 60);
    a[k + 5] = Number.NaN;
    const b = randomArray(k * n, 61);
    const dy = randomArray(m * n, 62);
    const contents = [a, b, dy, new Float32Array(m * n), new Float32Array(k * n)];
    const list = new Float32Array(sparseGradientListFloats(m, k));
    const { out } = guarded(simd, [...contents, list], ([pa, pb, pdy, y, dw, pl]) => {
      simd.fn.lenet_gemm_sparse_a(pa, pb, 0, y, m, n, k, 0, pl);
      simd.fn.lenet_gemm_sparse_at(pa, k, pdy, dw, m, n, k, pl);
    });
    const [y, dw] = [out[3], out[4]];
    for (let j = 0; j < n; j++) {
      expect(y[n + j]).toBeNaN();
      expect(Number.isFinite(y[j]) && Number.isFinite(y[2 * n + j])).toBe(true);
      expect(dw[5 * n + j]).toBeNaN();
    }
    expect(dw.filter((v) => Number.isNaN(v)).length).toBe(n);
  });

  it('runs where A is sparse enough, B has whole vectors of columns and the switch is on', () => {
    const [m, k] = [8, 40];
    const cases: [Float32Array, number, boolean][] = [
      [sparseMatrix(m, k, 0.2, 70), 8, true],
      [sparseMatrix(m, k, 0.2, 70), 10, false],
      [randomArray(m * k, 71), 8, false],
      [new Float32Array(m * k), 8, true],
    ];
    for (const [a, n, want] of cases) {
      const { out } = guarded(simd, [a, new Float32Array(1)], ([pa, result]) => {
        simd.heap()[result / 4] = sparseInputEntries(simd, pa, m, k, n) >= 0 ? 1 : 0;
      });
      expect(out[1][0] === 1).toBe(want);
    }
    setDenseSparseInputEnabled(false);
    const { out } = guarded(simd, [new Float32Array(m * k), new Float32Array(1)], ([pa, result]) => {
      simd.heap()[result / 4] = sparseInputEntries(simd, pa, m, k, 8) >= 0 ? 1 : 0;
    });
    expect(out[1][0]).toBe(0);
  });

  it('finds a non-finite entry anywhere, the tail past whole vectors included', () => {
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY])
      for (const at of [-1, 0, 5, 13, 14]) {
        const x = randomArray(15, 80);
        if (at >= 0) x[at] = bad;
        const { out } = guarded(simd, [x, new Float32Array(1)], ([px, result]) => {
          simd.heap()[result / 4] = simd.fn.lenet_all_finite(px, 15);
        });
        expect(out[1][0], `${bad} at ${at}`).toBe(at < 0 ? 1 : 0);
      }
  });
});

describe('the sparse products split over helper threads', () => {
  let simd: SimdKernels;
  beforeAll(async () => {
    simd = await wasmSimdKernels();
  });
  afterEach(async () => {
    setDenseSparseSplitEnabled(true);
    await setWasmKernelThreads(1);
  });

  it('give the single-thread sums bit for bit, forward by rows (B resident or copied) and the gradient by rows of C', async () => {
    // ~25 k nonzero entries × 100 columns: past the split thresholds (2 M, 1.5 M resident).
    const [m, k, n] = [256, 400, 100];
    const a = sparseMatrix(m, k, 0.3, 90);
    const b = randomArray(k * n, 91);
    const bias = randomArray(n, 92);
    const dy = randomArray(m * n, 93);
    const owner = {};
    const run = () =>
      guarded(
        simd,
        [
          a,
          b,
          bias,
          dy,
          new Float32Array(m * n),
          new Float32Array(m * n),
          new Float32Array(k * n),
          new Float32Array(sparseGradientListFloats(m, k)),
        ],
        ([pa, pb, pBias, pdy, y, yResident, dw, list]) => {
          const entries = sparseInputEntries(simd, pa, m, k, n);
          expect(entries).toBeGreaterThan(0);
          gemmSparse(simd, pa, pb, pBias, y, { m, n, k }, true, list, entries);
          gemmSparse(simd, pa, pb, 0, yResident, { m, n, k }, false, list, entries, { owner, version: 1 });
          gemmSparseTransposedA(simd, pa, pdy, dw, { m, n, k }, list, entries);
        },
      );
    await setWasmKernelThreads(1);
    const single = run();
    await setWasmKernelThreads(2);
    const before = splitCalls();
    const split = run();
    expect(splitCalls() - before).toBe(3);
    expect(split.guardsIntact).toBe(true);
    for (const i of [4, 5, 6]) expect(sameBits(split.out[i], single.out[i]), `output ${i}`).toBe(true);
  });
});
