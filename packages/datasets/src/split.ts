import { OptionError, plural } from '@lenet/common';
import { checkHeadCount, checkSplitOptions } from './options.js';
import { createRng, shuffleInPlace } from './random.js';
import type { Dataset, Labels } from './types.js';

/** Options of {@link split}. */
export interface SplitOptions {
  /** Fraction of samples for validation, strictly between 0 and 1. */
  valFraction: number;
  /** Seed of the random selection. Default 0. */
  seed?: number;
  /** Keep each class's proportion the same in both parts. Default false. */
  stratified?: boolean;
}

/** Per-channel pixel statistics in 0..1 units (pixel / 255), ready for `normalize: { mean, std }`. */
export interface ChannelStats {
  mean: number[];
  std: number[];
}

/**
 * A new data set of the samples at `indices`, in that order (pixels and labels are copied).
 * Throws an `OptionError` for an index outside `0 .. count-1`.
 */
export function subset(ds: Dataset, indices: ArrayLike<number>): Dataset {
  const S = ds.height * ds.width * ds.channels;
  const n = indices.length;
  const images = new Uint8Array(n * S);
  const labels: Labels = ds.labels instanceof Uint16Array ? new Uint16Array(n) : new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const j = indices[i];
    if (!Number.isInteger(j) || j < 0 || j >= ds.count) {
      throw new OptionError('indices', `subset index ${j} at position ${i} is outside 0..${ds.count - 1}`);
    }
    images.set(ds.images.subarray(j * S, (j + 1) * S), i * S);
    labels[i] = ds.labels[j];
  }
  return {
    images,
    labels,
    count: n,
    height: ds.height,
    width: ds.width,
    channels: ds.channels,
    classNames: [...ds.classNames],
    source: ds.source,
  };
}

/**
 * The first `n` samples of a data set as a view sharing its pixel and label buffers (no copy), or
 * the data set itself when `n` is at least its size. Throws an `OptionError` unless `n` is a
 * non-negative integer.
 */
export function head(ds: Dataset, n: number): Dataset {
  checkHeadCount(n);
  if (n >= ds.count) return ds;
  const S = ds.height * ds.width * ds.channels;
  return {
    images: ds.images.subarray(0, n * S),
    labels: ds.labels.subarray(0, n),
    count: n,
    height: ds.height,
    width: ds.width,
    channels: ds.channels,
    classNames: [...ds.classNames],
    source: `${ds.source} (first ${n})`,
  };
}

/** Number of samples of each class, index-aligned with `classNames`. */
export function classCounts(ds: Dataset): number[] {
  const counts = new Array<number>(ds.classNames.length).fill(0);
  for (let i = 0; i < ds.count; i++) counts[ds.labels[i]]++;
  return counts;
}

/**
 * Splits `ds` into `train` and `val` with a seeded random selection of `round(count × valFraction)`
 * validation samples (stratified: each class contributes in proportion, by largest remainder).
 * Both parts keep the original sample order.
 */
export function split(ds: Dataset, options: SplitOptions): { train: Dataset; val: Dataset } {
  const { train, val } = splitIndices(ds, options);
  return { train: subset(ds, train), val: subset(ds, val) };
}

/** The indices {@link split} puts in each part, in order. */
export function splitIndices(ds: Dataset, options: SplitOptions): { train: number[]; val: number[] } {
  checkSplitOptions(options);
  const { valFraction } = options;
  const nVal = Math.round(ds.count * valFraction);
  if (nVal === 0 || nVal === ds.count) {
    throw new OptionError(
      'valFraction',
      `valFraction ${valFraction} of ${plural(ds.count, 'sample')} leaves ${nVal === 0 ? 'no validation' : 'no training'} samples`,
    );
  }
  const rng = createRng(options.seed ?? 0);
  const isVal = new Uint8Array(ds.count);
  if (options.stratified) {
    const byClass: number[][] = ds.classNames.map(() => []);
    for (let i = 0; i < ds.count; i++) byClass[ds.labels[i]].push(i);
    // Largest-remainder allocation so the class quotas add up to exactly nVal.
    const exact = byClass.map((members) => (members.length * nVal) / ds.count);
    const quota = exact.map(Math.floor);
    let left = nVal - quota.reduce((a, b) => a + b, 0);
    const byRemainder = exact
      .map((e, c) => [e - Math.floor(e), c])
      .sort((a, b) => b[0] - a[0] || a[1] - b[1]);
    for (const [, c] of byRemainder) {
      if (left === 0) break;
      if (quota[c] < byClass[c].length) {
        quota[c]++;
        left--;
      }
    }
    byClass.forEach((members, c) => {
      shuffleInPlace(members, rng);
      for (let k = 0; k < quota[c]; k++) isVal[members[k]] = 1;
    });
  } else {
    const order = new Uint32Array(ds.count);
    for (let i = 0; i < ds.count; i++) order[i] = i;
    shuffleInPlace(order, rng);
    for (let k = 0; k < nVal; k++) isVal[order[k]] = 1;
  }
  const trainIdx: number[] = [];
  const valIdx: number[] = [];
  for (let i = 0; i < ds.count; i++) (isVal[i] ? valIdx : trainIdx).push(i);
  return { train: trainIdx, val: valIdx };
}

/** Per-channel mean and (population) standard deviation of all pixels, in 0..1 units. Exact. */
export function meanStd(ds: Dataset): ChannelStats {
  const C = ds.channels;
  // Exact 256-bin histograms per channel, then moments from them.
  const hist = new Float64Array(256 * C);
  const n = ds.count * ds.height * ds.width * C;
  const px = ds.images;
  if (C === 1) {
    for (let i = 0; i < n; i++) hist[px[i]]++;
  } else {
    for (let i = 0; i < n; i += C) for (let c = 0; c < C; c++) hist[c * 256 + px[i + c]]++;
  }
  const mean: number[] = [];
  const std: number[] = [];
  for (let c = 0; c < C; c++) {
    let count = 0;
    let sum = 0;
    for (let v = 0; v < 256; v++) {
      count += hist[c * 256 + v];
      sum += hist[c * 256 + v] * v;
    }
    const m = count > 0 ? sum / count : 0;
    let sq = 0;
    for (let v = 0; v < 256; v++) sq += hist[c * 256 + v] * (v - m) ** 2;
    mean.push(m / 255);
    std.push(count > 0 ? Math.sqrt(sq / count) / 255 : 0);
  }
  return { mean, std };
}
