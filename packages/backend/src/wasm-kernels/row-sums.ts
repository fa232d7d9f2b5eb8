import type { SimdKernels } from './simd.js';
import { runSplit, SPLIT_MIN_PASS_FLOATS } from './split.js';

/** What a per-channel row sum adds up: x, (x − mean)², or dvar·((x − mean)·2) (csrc/lenet-kernels.c's sum_rows_of). */
export type RowSumTerm = 'x' | 'squaredDeviation' | 'varianceGradient';

const MODE: Record<RowSumTerm, number> = { x: 0, squaredDeviation: 1, varianceGradient: 2 };

/** Where a row sum works: two tiles of t floats, and {@link rowSumBlockFloats} for a split's block sums. */
export interface RowSumScratch {
  tile: number;
  acc: number;
  blocks: number;
}

/** Floats of the block sums a split row sum of `rows` × `c` values (tiles of `t`) writes. */
export function rowSumBlockFloats(rows: number, c: number, t: number): number {
  return Math.ceil(Math.floor((rows * c) / t) / 64) * t;
}

/**
 * out[j] = Σ_r term(x[r·c + j]) / divisor for x [rows, c], as `lenet_sum_rows`,
 * `lenet_sum_sq_dev` and `lenet_bn_var_grad_sum` compute it (meanTile, dvarTile: tiles of t
 * floats; unused by the terms that do not read them). Where tfjs's heap is shared, the blocks of
 * 64 tiles are summed by every thread in place and added up in order afterwards: bit for bit the
 * one-thread sum, whichever thread summed which block.
 */
export function sumRows(
  simd: SimdKernels,
  term: RowSumTerm,
  x: number,
  tiles: { mean: number; dvar: number },
  out: number,
  rows: number,
  c: number,
  t: number,
  divisor: number,
  scratch: RowSumScratch,
): void {
  const f = simd.fn;
  const { tile, acc, blocks } = scratch;
  if (!simd.shared || rows * c < SPLIT_MIN_PASS_FLOATS) {
    if (term === 'x') f.lenet_sum_rows(x, out, rows, c, t, divisor, tile, acc);
    else if (term === 'squaredDeviation')
      f.lenet_sum_sq_dev(x, tiles.mean, out, rows, c, t, divisor, tile, acc);
    else if (divisor === 1) f.lenet_bn_var_grad_sum(x, tiles.mean, tiles.dvar, out, rows, c, t, tile, acc);
    else throw new Error('sumRows: the variance gradient is summed without a divisor');
    return;
  }
  const mode = MODE[term];
  const fullTiles = Math.floor((rows * c) / t);
  const count = Math.ceil(fullTiles / 64);
  runSplit(simd, {
    fn: 'lenet_block_sums',
    macs: rows * c,
    minMacs: SPLIT_MIN_PASS_FLOATS,
    items: count,
    perItem: [],
    whole: [],
    out: { ptr: blocks, floats: t },
    inPlaceOnly: true,
    args: (p, n) => [x, tiles.mean, tiles.dvar, mode, blocks + p.first * t * 4, p.first, n, fullTiles, t],
  });
  f.lenet_fold_block_sums(blocks, count, x, tiles.mean, tiles.dvar, mode, out, rows, c, t, divisor, acc);
}
