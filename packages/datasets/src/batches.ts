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
   * per batch cost allocation, page faults and garbage collections. A {@link BatchBuffers}
   * instead of `true`: the buffers are that memory, kept from call to call (see there). Default
   * false.
   */
  reuseBuffers?: boolean | BatchBuffers;
}

/**
 * Memory for batches that outlives one pass over a data set: a loop that draws an epoch after
 * another (or validates after each) passes the same one as `reuseBuffers` every time, so that no
 * epoch writes its batches into new memory. New memory is paid for page by page when first
 * written: measured on a 2-core cloud VM, a new 450 KB buffer took 1.4 ms to fill and a reused one
 * 0.1 ms, which was a quarter of a small net's 20-batch `fit` epoch. Batches drawn through the same
 * BatchBuffers share it: each is valid until the one after the next is drawn, whichever pass draws
 * it. Make one with {@link batchBuffers}.
 */
export interface BatchBuffers {
  readonly kind: 'batch-buffers';
}

/** Buffers in flight, by slot; grown when a pass needs bigger ones. */
const poolSlots = new WeakMap<BatchBuffers, Buffers[]>();

/** A new, empty {@link BatchBuffers} (it takes memory at the first batch drawn through it). */
export function batchBuffers(): BatchBuffers {
  const buffers: BatchBuffers = Object.freeze({ kind: 'batch-buffers' });
  poolSlots.set(buffers, []);
  return buffers;
}

/** Whether `value` came from {@link batchBuffers}. */
export function isBatchBuffers(value: unknown): value is BatchBuffers {
  return typeof value === 'object' && value !== null && poolSlots.has(value as BatchBuffers);
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
  const cursor = makeCursor(ds, options, 1);
  for (let batch = cursor.next(); batch !== undefined; batch = cursor.next()) yield batch;
}

/**
 * {@link batches} as a cursor that can write the batch after the one drawn ahead of time, a sample
 * at a time: for a loop with idle moments during a step (`fit` fills them while a helper thread
 * finishes its share of a kernel). The batches, their order and augmentation are those of
 * {@link batches} with the same options, however the writing ahead falls.
 */
export interface BatchCursor {
  /** Batches in the epoch. */
  readonly count: number;
  /** The next batch (the rest of it written now), or undefined after the last. */
  next(): Batch | undefined;
  /**
   * Writes one more sample of the batch that {@link next} returns next; false when that batch is
   * already complete or there is none. With `reuseBuffers` the cursor keeps two pairs of buffers
   * so that this never touches the batch last drawn: a batch is then valid until the one after
   * the next is drawn.
   */
  writeAhead(): boolean;
}

/**
 * A {@link BatchCursor} over `ds` with the options of {@link batches}. Throws a DatasetError for
 * bad options now, not at the first batch.
 */
export function batchCursor(ds: Dataset, options: BatchOptions): BatchCursor {
  return makeCursor(ds, options, 2);
}

/** The cursor with `inFlight` pairs of reused buffers (1: {@link batches}'s, which never writes ahead). */
function makeCursor(ds: Dataset, options: BatchOptions, inFlight: 1 | 2): BatchCursor {
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
  const full = Math.min(batchSize, ds.count);
  const paired = pairedSource(images, S, C, lut);
  // Reused buffers: one pair per batch in flight (the one drawn, and the one written ahead), the
  // cursor's own or the caller's kept ones.
  const reuse = options.reuseBuffers;
  const slots: Buffers[] | undefined = reuse === true ? [] : reuse ? poolSlots.get(reuse) : undefined;
  const sizeOf = (b: number) => Math.min(batchSize, ds.count - b * batchSize);
  const withPairs = (x: Float32Array, y: Int32Array): Buffers => ({
    x,
    y,
    x2: paired ? new Float64Array(x.buffer, x.byteOffset, x.length >>> 1) : NO_PAIRS,
  });
  const buffersOf = (b: number): Buffers => {
    const n = sizeOf(b);
    if (slots === undefined) return withPairs(new Float32Array(n * S), new Int32Array(n));
    const k = b % inFlight;
    const kept = slots[k];
    if (kept === undefined || kept.x.length < full * S || kept.y.length < full) {
      slots[k] = withPairs(new Float32Array(full * S), new Int32Array(full));
    }
    const { x, y, x2 } = slots[k];
    return { x: x.subarray(0, n * S), y: y.subarray(0, n), x2 };
  };
  // The batch next() returns next, its buffers once its first sample is written, and how many of
  // its samples are written.
  let drawn = 0;
  let pending: Buffers | undefined;
  let written = 0;
  const writeSample = (): void => {
    pending ??= buffersOf(drawn);
    const i = written;
    const j = drawn * batchSize + i;
    const index = order ? order[j] : j;
    pending.y[i] = labels[index];
    const t = augment ? sampleTransform(augmentRng!, augment, H, W) : undefined;
    if (t && (t.dx !== 0 || t.dy !== 0 || t.flip)) {
      writeTransformed(images, index * S, pending.x, i * S, H, W, C, layout, lut, t);
    } else if (paired) {
      writePairs(paired.words, (index * S) >>> 2, pending.x2, (i * S) >>> 1, S >>> 2, paired.table);
    } else {
      writePlain(images, index * S, pending.x, i * S, HW, C, layout, lut);
    }
    written++;
  };
  return {
    count: total,
    next() {
      if (drawn >= total) return undefined;
      const n = sizeOf(drawn);
      while (written < n) writeSample();
      const { x, y } = pending ?? buffersOf(drawn);
      pending = undefined;
      written = 0;
      drawn++;
      return { x, y, shape: shape(n) };
    },
    writeAhead() {
      if (drawn >= total || written >= sizeOf(drawn)) return false;
      writeSample();
      return true;
    },
  };
}

/** `x2` of a batch whose source is not written by pairs. */
const NO_PAIRS = new Float64Array(0);

/** A batch's buffers; `x2` views `x` (from its start) as pairs of floats, for {@link writePairs}. */
interface Buffers {
  x: Float32Array;
  y: Int32Array;
  x2: Float64Array;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Pair tables by the single-channel table they expand, keyed by its 256 values. */
const pairTables = new Map<string, Float64Array>();

/**
 * The one-channel images as 32-bit words (4 pixels) and a table that maps 2 pixels (16 bits) to
 * their 2 normalised floats at once, read as one float64: converting a pixel at a time costs
 * ~2 ns in V8 (a quarter of a small net's `fit` epoch went to it), by pairs ~0.7 ns. Undefined
 * where the layout does not allow it (several channels, a sample size not a multiple of 4, an
 * unaligned buffer, a big-endian machine): those take {@link writePlain}. The table's float64 are
 * never NaN (two finite float32 halves), so copying them is bit-exact.
 */
function pairedSource(
  images: Uint8Array,
  sampleSize: number,
  channels: number,
  lut: Float32Array,
): { words: Uint32Array; table: Float64Array } | undefined {
  if (!LITTLE_ENDIAN || channels !== 1 || sampleSize % 4 !== 0 || images.byteOffset % 4 !== 0) {
    return undefined;
  }
  const key = Array.from(lut).join(',');
  let table = pairTables.get(key);
  if (table === undefined) {
    table = new Float64Array(65536);
    const halves = new Float32Array(table.buffer);
    for (let i = 0; i < 65536; i++) {
      halves[2 * i] = lut[i & 255];
      halves[2 * i + 1] = lut[i >>> 8];
    }
    // A handful of normalisations per process; a table is 512 KiB.
    if (pairTables.size >= 4) pairTables.clear();
    pairTables.set(key, table);
  }
  return { words: new Uint32Array(images.buffer, images.byteOffset, images.length >>> 2), table };
}

/** One sample of `quads` 4-pixel words from `words[wo]` on, as floats into `dst2[o2]` on by pairs. */
function writePairs(
  words: Uint32Array,
  wo: number,
  dst2: Float64Array,
  o2: number,
  quads: number,
  table: Float64Array,
): void {
  for (let q = 0; q < quads; q++) {
    const w = words[wo + q];
    dst2[o2 + 2 * q] = table[w & 0xffff];
    dst2[o2 + 2 * q + 1] = table[w >>> 16];
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
