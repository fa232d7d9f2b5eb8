import { nonFiniteIndex, normalizationProblem } from '@lenet/common';
import { type AugmentOptions, type SampleTransform, sampleTransform } from './augment.js';
import { DatasetError } from './errors.js';
import { checkBatchOptions, checkBatchSize } from './options.js';
import { createRng, mixSeed, permutation } from './random.js';
import type { Batch, Dataset, Layout } from './types.js';

/** Per-channel normalisation in 0..1 units, as torchvision `Normalize` after `ToTensor`. */
export interface MeanStd {
  mean: readonly number[];
  std: readonly number[];
}

/** Options of {@link batches}. */
export interface BatchOptions {
  /** Samples per batch (the last one may be smaller unless `dropLast`). */
  batchSize: number;
  /** Visit samples in a seeded random order. Default false. */
  shuffle?: boolean;
  /** Seed of the shuffle (and of augmentation unless `augment.seed` is set). Default 0. */
  seed?: number;
  /** Epoch number, mixed into the seed so each epoch gets its own order. Default 0. */
  epoch?: number;
  /** Leave out a last, incomplete batch. Default false. */
  dropLast?: boolean;
  /** `'NHWC'` (default, TensorFlow.js) or `'NCHW'` (PyTorch, ONNX). */
  layout?: Layout;
  /** `'unit'` (default): pixel / 255; or `{ mean, std }` per channel applied after / 255. */
  normalize?: 'unit' | MeanStd;
  /** Seeded augmentation applied to every sample (for training). */
  augment?: AugmentOptions;
  /**
   * Write every batch into the same two buffers (a smaller last batch into the start of them)
   * instead of fresh ones, so that a batch is valid only until the next one is drawn. For a loop
   * that is done with each batch before it draws the next (`fit`): fresh buffers of 0.2–0.8 MB
   * per batch cost allocation, page faults and garbage collections. Default false.
   */
  reuseBuffers?: boolean;
}

/** Number of batches {@link batches} yields for a data set (or a sample count) with these options. */
export function batchCount(
  ds: Pick<Dataset, 'count'> | number,
  options: Pick<BatchOptions, 'batchSize' | 'dropLast'>,
): number {
  const count = typeof ds === 'number' ? ds : ds.count;
  checkBatchSize(options.batchSize);
  return options.dropLast ? Math.floor(count / options.batchSize) : Math.ceil(count / options.batchSize);
}

/**
 * Lookup table `byte → normalised float`, 256 entries per channel. Statistics that cannot be
 * used (std 0, a NaN or infinite value, the wrong count) throw a {@link DatasetError} naming
 * `source`: standardising by a std of 0 would turn every pixel into NaN.
 */
export function normalizationTable(
  channels: number,
  normalize: 'unit' | MeanStd = 'unit',
  source = 'the data set',
): Float32Array {
  const problem = normalizationProblem(normalize, channels);
  if (problem !== undefined) throw new DatasetError(source, problem);
  const lut = new Float32Array(256 * channels);
  let mean: readonly number[] = [0];
  let std: readonly number[] = [1];
  if (normalize !== 'unit') ({ mean, std } = normalize);
  for (let c = 0; c < channels; c++) {
    const m = mean.length === 1 ? mean[0] : mean[c];
    const s = std.length === 1 ? std[0] : std[c];
    for (let v = 0; v < 256; v++) lut[c * 256 + v] = (v / 255 - m) / s;
  }
  const overflow = nonFiniteIndex(lut);
  if (overflow >= 0) {
    const c = Math.floor(overflow / 256);
    throw new DatasetError(
      source,
      `normalize: channel ${c} maps pixel ${overflow % 256} to ${lut[overflow]} (mean ${mean.length === 1 ? mean[0] : mean[c]}, std ${std.length === 1 ? std[0] : std[c]}): the std is too small for float32`,
    );
  }
  return lut;
}

/**
 * Yields batches `{ x, y, shape }` of `ds` one at a time: `x` normalised float32 pixels in the
 * requested layout, `y` int32 labels. Only one batch is converted to floats at a time, and each
 * yielded batch owns fresh buffers (they may be kept) unless `reuseBuffers` is set. Every sample appears exactly once per epoch
 * (except those dropped by `dropLast`); the same seed and epoch give the same order and augmentation.
 */
export function* batches(ds: Dataset, options: BatchOptions): Generator<Batch, void, undefined> {
  const { batchSize } = options;
  const layout = checkBatchOptions(options);
  const total = batchCount(ds, options);
  const { height: H, width: W, channels: C, images, labels } = ds;
  const lut = normalizationTable(C, options.normalize ?? 'unit', ds.source);
  const seed = options.seed ?? 0;
  const epoch = options.epoch ?? 0;
  const order = options.shuffle ? permutation(ds.count, mixSeed(seed, epoch)) : undefined;
  const augment = options.augment;
  const augmentRng = augment ? createRng(mixSeed(augment.seed ?? seed, epoch, 0x6175)) : undefined;
  const HW = H * W;
  const S = HW * C;
  const shape = (n: number): [number, number, number, number] =>
    layout === 'NHWC' ? [n, H, W, C] : [n, C, H, W];
  const shared = options.reuseBuffers
    ? {
        x: new Float32Array(Math.min(batchSize, ds.count) * S),
        y: new Int32Array(Math.min(batchSize, ds.count)),
      }
    : undefined;

  for (let b = 0; b < total; b++) {
    const start = b * batchSize;
    const n = Math.min(batchSize, ds.count - start);
    const x = shared ? shared.x.subarray(0, n * S) : new Float32Array(n * S);
    const y = shared ? shared.y.subarray(0, n) : new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const index = order ? order[start + i] : start + i;
      y[i] = labels[index];
      const t = augment ? sampleTransform(augmentRng!, augment, H, W) : undefined;
      if (t && (t.dx !== 0 || t.dy !== 0 || t.flip)) {
        writeTransformed(images, index * S, x, i * S, H, W, C, layout, lut, t);
      } else {
        writePlain(images, index * S, x, i * S, HW, C, layout, lut);
      }
    }
    yield { x, y, shape: shape(n) };
  }
}

function writePlain(
  src: Uint8Array,
  so: number,
  dst: Float32Array,
  o: number,
  HW: number,
  C: number,
  layout: Layout,
  lut: Float32Array,
): void {
  if (C === 1) {
    for (let p = 0; p < HW; p++) dst[o + p] = lut[src[so + p]];
    return;
  }
  if (layout === 'NHWC') {
    for (let p = 0; p < HW; p++) {
      const s = so + p * C;
      const d = o + p * C;
      for (let c = 0; c < C; c++) dst[d + c] = lut[c * 256 + src[s + c]];
    }
  } else {
    for (let c = 0; c < C; c++) {
      const d = o + c * HW;
      const base = c * 256;
      for (let p = 0; p < HW; p++) dst[d + p] = lut[base + src[so + p * C + c]];
    }
  }
}

function writeTransformed(
  src: Uint8Array,
  so: number,
  dst: Float32Array,
  o: number,
  H: number,
  W: number,
  C: number,
  layout: Layout,
  lut: Float32Array,
  t: SampleTransform,
): void {
  // Strides in the output: between neighbouring pixels of a row, and between channels.
  const ps = layout === 'NHWC' ? C : 1;
  const cs = layout === 'NHWC' ? 1 : H * W;
  // Output columns that come from inside the image: shifted = xx - dx in [0, W).
  const x0 = Math.max(0, t.dx);
  const x1 = Math.min(W, W + t.dx);
  for (let c = 0; c < C; c++) {
    const base = c * 256;
    const fill = lut[base]; // the normalised value of a black (0) pixel
    for (let yy = 0; yy < H; yy++) {
      const row = o + c * cs + yy * W * ps;
      const sy = yy - t.dy;
      if (sy < 0 || sy >= H || x0 >= x1) {
        for (let xx = 0; xx < W; xx++) dst[row + xx * ps] = fill;
        continue;
      }
      for (let xx = 0; xx < x0; xx++) dst[row + xx * ps] = fill;
      for (let xx = x1; xx < W; xx++) dst[row + xx * ps] = fill;
      const srcRow = so + sy * W * C + c;
      if (t.flip) {
        // sx = W - 1 - (xx - dx)
        const offset = srcRow + (W - 1 + t.dx) * C;
        for (let xx = x0; xx < x1; xx++) dst[row + xx * ps] = lut[base + src[offset - xx * C]];
      } else {
        const offset = srcRow - t.dx * C;
        for (let xx = x0; xx < x1; xx++) dst[row + xx * ps] = lut[base + src[offset + xx * C]];
      }
    }
  }
}
