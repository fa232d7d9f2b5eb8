import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onBackend, randomArray, relativeError } from '../testing/helpers.js';
import { guarded, wasmSimdKernels } from '../testing/simd-guard.js';
import * as tf from '../tfjs.js';
import { setWasmKernelThreads } from './kernel-threads.js';
import {
  gemmPanels,
  packPanels,
  panelColumns,
  panelFloats,
  setDenseResidentEnabled,
  setDenseResidentSplitEnabled,
} from './matmul.js';
import type { SimdKernels } from './simd.js';
import { splitCalls, splitCopiedFloats } from './split.js';

const TOLERANCE = 1e-3;

/** relu(A·B + bias), B given as `b` [k, n] or, `transposed`, as its transpose [n, k]. */
interface Product {
  a: Float32Array;
  b: Float32Array;
  bias: Float32Array | null;
  /** [m, k, n] */
  shape: number[];
  transposed: boolean;
  relu: boolean;
}

/** relu(A·B + bias) of `shape` [m, k, n] with A, B and the bias random from seeds `seed`, `seed` + 1, `seed` + 2. */
function reluProduct(shape: number[], seed: number): Product {
  const [m, k, n] = shape;
  return {
    a: randomArray(m * k, seed),
    b: randomArray(k * n, seed + 1),
    bias: randomArray(n, seed + 2),
    shape,
    transposed: false,
    relu: true,
  };
}

/** The product on the cpu backend. */
async function expected({ a, b, bias, shape: [m, k, n], transposed, relu }: Product): Promise<Float32Array> {
  const [y] = await onBackend('cpu', () => {
    const bt = transposed ? tf.transpose(tf.tensor2d(b, [n, k])) : tf.tensor2d(b, [k, n]);
    let y = tf.matMul(tf.tensor2d(a, [m, k]), bt);
    if (bias) y = tf.add(y, tf.tensor1d(bias));
    return [relu ? tf.relu(y) : y];
  });
  return y;
}

/**
 * Packs B (and the bias) and runs the panel product, every buffer guarded; `resident` names the
 * helpers' copy of the panels (its owner and version).
 */
function panelProduct(
  simd: SimdKernels,
  { a, b, bias, shape: [m, k, n], transposed, relu }: Product,
  resident?: { owner: object; version: number },
): { out: Float32Array; packed: Float32Array; guardsIntact: boolean } {
  const contents = [
    a,
    b,
    bias ?? new Float32Array(1),
    new Float32Array(panelFloats(k, n)),
    new Float32Array(m * n),
    new Float32Array(m * panelColumns(n)),
  ];
  const { out, guardsIntact } = guarded(simd, contents, ([pa, pb, pBias, packed, c, panelOut]) => {
    packPanels(simd, pb, transposed, bias ? pBias : 0, packed, { k, n });
    gemmPanels(simd, pa, packed, c, { m, n, k }, relu, panelOut, resident);
  });
  return { out: out[4], packed: out[3], guardsIntact };
}

describe('the dense product on weights packed in panels', () => {
  let simd: SimdKernels;
  beforeAll(async () => {
    simd = await wasmSimdKernels();
  });

  // [m, k, n]: single rows and columns, k = 1, n not a multiple of 4 or of a panel (16), odd
  // rows past the 4- and 2-row tiles, one panel and several.
  const SHAPES = [
    [1, 1, 1],
    [7, 13, 10],
    [5, 1, 3],
    [9, 17, 21],
    [6, 8, 16],
    [3, 5, 33],
    [13, 40, 47],
  ];
  SHAPES.forEach((shape, i) => {
    for (const [withBias, relu, transposed] of [
      [false, false, false],
      [true, false, false],
      [true, true, true],
      [false, true, true],
    ])
      it(`[${shape}]${withBias ? ' + bias' : ''}${relu ? ', relu' : ''}${transposed ? ', B packed from its transpose' : ''}`, async () => {
        const [m, k, n] = shape;
        const product: Product = {
          a: randomArray(m * k, 40 + i),
          b: randomArray(k * n, 50 + i),
          bias: withBias ? randomArray(n, 60 + i) : null,
          shape,
          transposed,
          relu,
        };
        const want = await expected(product);
        await tf.setBackend('wasm');
        const { out, packed, guardsIntact } = panelProduct(simd, product);
        expect(guardsIntact).toBe(true);
        expect(relativeError(out, want)).toBeLessThan(TOLERANCE);
        // The padding columns of the panels are zeros (a split's last share computes them).
        const w = panelColumns(n);
        for (let j = n; j < w; j++)
          expect(packed[(Math.floor(j / 16) * (k + 1) + k) * 16 + (j % 16)]).toBe(0);
      });
  });
});

describe('the panel product split over helper threads', () => {
  let simd: SimdKernels;
  beforeAll(async () => {
    simd = await wasmSimdKernels();
  });
  afterAll(async () => {
    await setWasmKernelThreads(1);
  });

  // By columns (fewer rows than columns: 57 panels, an uneven share) and by rows.
  for (const shape of [
    [33, 300, 901],
    [129, 800, 130],
  ])
    it(`[${shape}] gives the single-thread result, split`, async () => {
      const product = reluProduct(shape, 7);
      await setWasmKernelThreads(1);
      const one = panelProduct(simd, product);
      await setWasmKernelThreads(2);
      const before = splitCalls();
      const two = panelProduct(simd, product);
      expect(splitCalls() - before).toBe(1);
      expect(two.guardsIntact).toBe(true);
      // Each output is the same sum in the same order, whichever thread computes it.
      expect(two.out).toEqual(one.out);
      expect(relativeError(two.out, await expected(product))).toBeLessThan(TOLERANCE);
    });

  // By rows (m ≥ n: the calling thread takes rows 0..m/2) and by columns (fewer rows than
  // panels, vgg's 2048→2500 layer shrunk to 8.2M multiply-adds: it takes panels 0..3).
  for (const [shape, byRows] of [
    [[130, 800, 100], true],
    [[32, 2048, 125], false],
  ] as const)
    it(`[${shape}] split by ${byRows ? 'rows' : 'columns'} on resident panels copies them again only for a new version`, async () => {
      const [m, k, n] = shape;
      const first: Product = {
        a: randomArray(m * k, 10),
        b: randomArray(k * n, 11),
        bias: randomArray(n, 12),
        shape: [...shape],
        transposed: false,
        relu: true,
      };
      const second = { ...first, b: randomArray(k * n, 13) };
      await setWasmKernelThreads(1);
      const [one1, one2] = [panelProduct(simd, first), panelProduct(simd, second)];
      await setWasmKernelThreads(2);
      const owner = {};
      try {
        const before = splitCalls();
        const copied = splitCopiedFloats();
        const two1 = panelProduct(simd, first, { owner, version: 1 });
        const inFirst = splitCopiedFloats() - copied;
        // The same version: the helper computes with the panels it holds (the first B).
        const stale = panelProduct(simd, second, { owner, version: 1 });
        const inStale = splitCopiedFloats() - copied - inFirst;
        const two2 = panelProduct(simd, second, { owner, version: 2 });
        expect(splitCalls() - before).toBe(3);
        expect(two1.guardsIntact && two2.guardsIntact).toBe(true);
        expect(two1.out).toEqual(one1.out);
        expect(two2.out).toEqual(one2.out);
        expect(inFirst - inStale).toBe(panelFloats(k, n));
        const mine = (i: number) => (byRows ? Math.floor(i / n) < m / 2 : i % n < 64);
        for (let i = 0; i < m * n; i++) expect(stale.out[i]).toBe(mine(i) ? one2.out[i] : one1.out[i]);
        setDenseResidentEnabled(false);
        const off = splitCopiedFloats();
        const plain = panelProduct(simd, second, { owner, version: 2 });
        // Off: the helper's panels travel (by columns: its 4 panels, and all of A).
        expect(splitCopiedFloats() - off).toBe(
          byRows ? panelFloats(k, n) + inStale : 4 * (k + 1) * 16 + m * k + m * 64,
        );
        expect(plain.out).toEqual(one2.out);
        expect(relativeError(two2.out, await expected(second))).toBeLessThan(TOLERANCE);
      } finally {
        setDenseResidentEnabled(true);
      }
    });

  // mlp2's 784→100 layer at a batch of 40 (3.1 M multiply-adds): under the 8 M of a product that
  // ships B, over the 3 M of one on kept panels; fewer rows than columns, yet split by rows.
  it('splits a small product on resident panels by rows, copying half of A in', async () => {
    const [m, k, n] = [40, 784, 100];
    const product = reluProduct([m, k, n], 14);
    await setWasmKernelThreads(1);
    const one = panelProduct(simd, product);
    await setWasmKernelThreads(2);
    const owner = {};
    try {
      panelProduct(simd, product, { owner, version: 1 });
      const before = splitCalls();
      const copied = splitCopiedFloats();
      const two = panelProduct(simd, product, { owner, version: 1 });
      expect(splitCalls() - before).toBe(1);
      // The helper's 20 rows of A in and of C out; the panels stay.
      expect(splitCopiedFloats() - copied).toBe((m / 2) * (k + n));
      expect(two.guardsIntact).toBe(true);
      expect(two.out).toEqual(one.out);
      expect(relativeError(two.out, await expected(product))).toBeLessThan(TOLERANCE);
      setDenseResidentSplitEnabled(false);
      const off = splitCalls();
      expect(panelProduct(simd, product, { owner, version: 1 }).out).toEqual(one.out);
      expect(splitCalls() - off).toBe(0);
    } finally {
      setDenseResidentSplitEnabled(true);
    }
  });
});
