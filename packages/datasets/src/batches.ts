import { type AugmentOptions, type SampleTransform, sampleTransform, validateAugment } from './augment.js';
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

function checkBatchSize(batchSize: number): void {
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  }
}

/** Lookup table `byte → normalised float`, 256 entries per channel. */
export function normalizationTable(channels: number, normalize: 'unit' | MeanStd = 'unit'): Float32Array {
  const lut = new Float32Array(256 * channels);
  let mean: readonly number[] = [0];
  let std: readonly number[] = [1];
  if (normalize !== 'unit') {
    ({ mean, std } = normalize);
    for (const [name, v] of [
      ['mean', mean],
      ['std', std],
    ] as const) {
      if (v.length !== 1 && v.length !== channels) {
        throw new RangeError(
          `normalize.${name} has ${v.length} values, expected 1 or ${channels} (channels)`,
        );
      }
    }
    if (std.some((s) => !(s > 0))) throw new RangeError(`normalize.std must be > 0, got [${std.join(', ')}]`);
  }
  for (let c = 0; c < channels; c++) {
    const m = mean.length === 1 ? mean[0] : mean[c];
    const s = std.length === 1 ? std[0] : std[c];
    for (let v = 0; v < 256; v++) lut[c * 256 + v] = (v / 255 - m) / s;
  }
  return lut;
}

/**
 * Yields batches `{ x, y, shape }` of `ds` one at a time: `x` normalised float32 pixels in the
 * requested layout, `y` int32 labels. Only one batch is converted to floats at a time, and each
 * yielded batch owns fresh buffers (they may be kept). Every sample appears exactly once per epoch
 * (except those dropped by `dropLast`); the same seed and epoch give the same order and augmentation.
 */
export function* batches(ds: Dataset, options: BatchOptions): Generator<Batch, void, undefined> {
  const { batchSize } = options;
  const total = batchCount(ds, options);
  const layout = options.layout ?? 'NHWC';
  if (layout !== 'NHWC' && layout !== 'NCHW')
    throw new RangeError(`layout must be 'NHWC' or 'NCHW', got ${layout}`);
  const { height: H, width: W, channels: C, images, labels } = ds;
  const lut = normalizationTable(C, options.normalize ?? 'unit');
  const seed = options.seed ?? 0;
  const epoch = options.epoch ?? 0;
  const order = options.shuffle ? permutation(ds.count, mixSeed(seed, epoch)) : undefined;
  const augment = options.augment;
  if (augment) validateAugment(augment);
  const augmentRng = augment ? createRng(mixSeed(augment.seed ?? seed, epoch, 0x6175)) : undefined;
  const HW = H * W;
  const S = HW * C;
  const shape = (n: number): [number, number, number, number] =>
    layout === 'NHWC' ? [n, H, W, C] : [n, C, H, W];

  for (let b = 0; b < total; b++) {
    const start = b * batchSize;
    const n = Math.min(batchSize, ds.count - start);
    const x = new Float32Array(n * S);
    const y = new Int32Array(n);
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
  const HW = H * W;
  for (let yy = 0; yy < H; yy++) {
    const sy = yy - t.dy;
    const rowInside = sy >= 0 && sy < H;
    for (let xx = 0; xx < W; xx++) {
      const shifted = xx - t.dx;
      const inside = rowInside && shifted >= 0 && shifted < W;
      const sx = t.flip ? W - 1 - shifted : shifted;
      const s = so + (sy * W + sx) * C;
      const p = yy * W + xx;
      for (let c = 0; c < C; c++) {
        const v = lut[c * 256 + (inside ? src[s + c] : 0)];
        dst[layout === 'NHWC' ? o + p * C + c : o + c * HW + p] = v;
      }
    }
  }
}
