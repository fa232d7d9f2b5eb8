import {
  checkBoolean,
  checkInteger,
  checkNumber,
  checkOneOf,
  describeValue,
  OptionError,
} from '@lenet/common';
import type { AugmentOptions } from './augment.js';
import { type BatchOptions, isBatchBuffers } from './batches.js';
import type { ImageFolderOptions } from './folder.js';
import type { DecodeImageOptions, FolderFit, FolderKernel } from './folder-decode.js';
import type { ReadIdxOptions } from './idx.js';
import type { Split } from './mnist.js';
import type { SplitOptions } from './split.js';
import type { Layout } from './types.js';

/**
 * Every option of this package's public functions is checked here, before any work, with the
 * valid range in the message. A bad value throws an `OptionError` (code `INVALID_OPTION`).
 */

/** The largest byte count a limit may be set to: what one typed array can hold. */
export const MAX_BUFFER_BYTES = 2 ** 32;

const SPLITS: readonly Split[] = ['train', 'test'];
const LAYOUTS: readonly Layout[] = ['NHWC', 'NCHW'];
const FITS: readonly FolderFit[] = ['fill', 'cover', 'contain'];
const KERNELS: readonly FolderKernel[] = ['nearest', 'linear', 'cubic', 'mitchell', 'lanczos2', 'lanczos3'];

/** A `split` option: `'train'` or `'test'`. */
export function checkSplit(split: unknown): Split {
  return checkOneOf('split', split, SPLITS);
}

/** A `maxBytes` limit: a positive integer up to {@link MAX_BUFFER_BYTES}. */
export function checkMaxBytes(value: unknown, option = 'maxBytes'): number {
  return checkInteger(option, value, { min: 1, max: MAX_BUFFER_BYTES });
}

/** CIFAR options: the split, the size limit (default `defaultMaxBytes`) and CIFAR-100's label set. */
export function checkCifarOptions(
  options: { split: unknown; maxBytes?: unknown; label?: unknown },
  defaultMaxBytes: number,
): { split: Split; maxBytes: number } {
  if (options.label !== undefined) checkOneOf('label', options.label, ['fine', 'coarse']);
  return { split: checkSplit(options.split), maxBytes: checkMaxBytes(options.maxBytes ?? defaultMaxBytes) };
}

/** `batchSize`: a positive integer. */
export function checkBatchSize(batchSize: unknown): number {
  return checkInteger('batchSize', batchSize, { min: 1 });
}

/** Augmentation: crop padding a non-negative integer, translation fractions in [0, 1). */
export function checkAugment(options: AugmentOptions): void {
  if (options.crop !== undefined) checkInteger('augment.crop.padding', options.crop.padding, { min: 0 });
  if (options.translate !== undefined) {
    const t = typeof options.translate === 'number' ? [options.translate] : options.translate;
    if (!Array.isArray(t) || t.length < 1 || t.length > 2) {
      throw new OptionError('augment.translate', 'augment.translate must be a fraction or [fy, fx]');
    }
    for (const f of t) checkNumber('augment.translate', f, { min: 0, below: 1, noun: 'a fraction' });
  }
  if (options.flip !== undefined) checkBoolean('augment.flip', options.flip);
  if (options.seed !== undefined) checkNumber('augment.seed', options.seed);
}

/** The options of `batches` other than `normalize` (checked against the data set's channels). */
export function checkBatchOptions(options: BatchOptions): Layout {
  checkBatchSize(options.batchSize);
  if (options.seed !== undefined) checkNumber('seed', options.seed);
  if (options.epoch !== undefined) checkInteger('epoch', options.epoch, { min: 0 });
  if (options.augment !== undefined) checkAugment(options.augment);
  const reuse = options.reuseBuffers;
  if (reuse !== undefined && typeof reuse !== 'boolean' && !isBatchBuffers(reuse)) {
    throw new OptionError(
      'reuseBuffers',
      `reuseBuffers must be true, false or the result of batchBuffers(), got ${describeValue(reuse)}`,
    );
  }
  return checkOneOf('layout', options.layout ?? 'NHWC', LAYOUTS);
}

/** IDX limits: `maxBytes` and an expected `rank` of 1 to 8. */
export function checkReadIdxOptions(options: ReadIdxOptions): void {
  if (options.maxBytes !== undefined) checkMaxBytes(options.maxBytes);
  if (options.rank !== undefined) checkInteger('rank', options.rank, { min: 1, max: 8 });
}

/** `head`'s sample count: a non-negative integer. */
export function checkHeadCount(n: unknown): number {
  return checkInteger('head: n', n, { min: 0 });
}

/** A seed: any finite number. */
export function checkSeed(seed: unknown): number {
  return checkNumber('seed', seed);
}

/** `split` options: a validation fraction strictly between 0 and 1, a finite seed. */
export function checkSplitOptions(options: SplitOptions): void {
  checkNumber('valFraction', options.valFraction, { above: 0, below: 1 });
  if (options.seed !== undefined) checkSeed(options.seed);
}

/** The largest side an image may be resized to. */
export const MAX_IMAGE_SIDE = 16384;

/** Target size, channels, fit, kernel and background of an image decode; returns `[height, width]`. */
export function checkDecodeOptions(options: DecodeImageOptions): [number, number] {
  const { size } = options;
  const [height, width] = typeof size === 'number' ? [size, size] : Array.isArray(size) ? size : [];
  const ok = (v: unknown) => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= MAX_IMAGE_SIDE;
  if (!(Array.isArray(size) ? size.length === 2 : true) || !ok(height) || !ok(width)) {
    throw new OptionError(
      'size',
      `size must be positive integers up to ${MAX_IMAGE_SIDE} (one number or [height, width]), got ${JSON.stringify(size)}`,
    );
  }
  if (options.channels !== undefined) checkOneOf('channels', options.channels, [1, 3]);
  if (options.fit !== undefined) checkOneOf('fit', options.fit, FITS);
  if (options.kernel !== undefined) checkOneOf('kernel', options.kernel, KERNELS);
  if (options.background !== undefined) checkInteger('background', options.background, { min: 0, max: 255 });
  return [height as number, width as number];
}

/** The image-folder options besides the decode ones. */
export function checkFolderOptions(options: ImageFolderOptions): void {
  checkDecodeOptions(options);
  if (options.concurrency !== undefined)
    checkInteger('concurrency', options.concurrency, { min: 1, max: 1024 });
  if (options.onError !== undefined) checkOneOf('onError', options.onError, ['error', 'skip']);
  if (options.maxBytes !== undefined) checkMaxBytes(options.maxBytes);
  if (options.split !== undefined) {
    checkOneOf('split.part', options.split.part, ['train', 'test']);
    if (options.split.testFraction !== undefined)
      checkNumber('split.testFraction', options.split.testFraction, { above: 0, below: 1 });
    if (options.split.seed !== undefined) checkInteger('split.seed', options.split.seed, { min: 0 });
  }
  if (options.extensions !== undefined) {
    if (
      !Array.isArray(options.extensions) ||
      options.extensions.some((e) => typeof e !== 'string' || e === '')
    ) {
      throw new OptionError(
        'extensions',
        `extensions must be a list of file extensions such as ['png', 'jpg'], got ${JSON.stringify(options.extensions)}`,
      );
    }
  }
  if (options.classes !== undefined) {
    if (!Array.isArray(options.classes) || options.classes.some((c) => typeof c !== 'string' || c === '')) {
      throw new OptionError(
        'classes',
        `classes must be a list of class folder names, got ${JSON.stringify(options.classes)}`,
      );
    }
  }
}
