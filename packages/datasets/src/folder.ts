import { readdir, realpath } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join, relative } from 'node:path';
import { DatasetError } from './errors.js';
import { folderCacheKey, folderCachePath, readFolderCache, writeFolderCache } from './folder-cache.js';
import {
  decodeAll,
  decodeSettings,
  defaultImageExtensions,
  type FolderFit,
  type FolderKernel,
} from './folder-decode.js';
import { byCodePoint, listFolder, type SkippedFile } from './folder-walk.js';
import { checkFolderOptions } from './options.js';
import { splitIndices, subset } from './split.js';
import type { Dataset, Labels } from './types.js';

/**
 * Image-folder loader with the semantics of torchvision `ImageFolder` and Keras
 * `image_dataset_from_directory`: `root/<class>/**\/*.<ext>`, classes sorted by name (code-point
 * order) unless given, each image decoded and resized with sharp to one size and 1 or 3 channels.
 * Walking is in folder-walk.ts, decoding in folder-decode.ts, the cache in folder-cache.ts.
 */

/** Options of {@link loadImageFolder}. */
export interface ImageFolderOptions {
  /** Target size: `[height, width]`, or one number for a square. */
  size: number | readonly [number, number];
  /** 1 (grayscale) or 3 (RGB) output channels. Default 3. Alpha is dropped, as PIL's `convert` does. */
  channels?: 1 | 3;
  /** Class folder names in label order; default: every non-hidden sub-folder, sorted. */
  classes?: readonly string[];
  /** `'fill'` (default, stretch like Keras), `'cover'` (centre crop) or `'contain'` (letterbox). */
  fit?: FolderFit;
  /** Resampling kernel. Default `'linear'` (bilinear, like Keras and torchvision). */
  kernel?: FolderKernel;
  /** Letterbox colour for `fit: 'contain'`, 0–255 grey level. Default 0 (black). */
  background?: number;
  /** Images decoded at once. Default `min(4, availableParallelism())`. */
  concurrency?: number;
  /** What to do with a file that cannot be decoded or is refused: throw (default) or skip and report. */
  onError?: 'error' | 'skip';
  /** File extensions to load, lower case without dot. Default {@link defaultImageExtensions}. */
  extensions?: readonly string[];
  /** Folder for an on-disk cache of the decoded set; off when not given. */
  cacheDir?: string;
  /**
   * Largest size of the decoded set (images × height × width × channels bytes), checked after
   * listing the files and before decoding any. Default {@link FOLDER_DEFAULT_MAX_BYTES}.
   */
  maxBytes?: number;
  /** Load only the training or the test part (see {@link FolderSplit}); default: every image. */
  split?: FolderSplit;
}

/**
 * A train/test split of an image folder. A folder whose only sub-folders are `train/` and `test/`
 * (each `<class>/...`) is split already: the part is that sub-folder, with the classes of
 * `train/`. Any other folder is split by a seeded, stratified selection of `testFraction` of each
 * class's images as the test part, the same images on every call with the same seed.
 */
export interface FolderSplit {
  part: 'train' | 'test';
  /** Fraction of the images held out as the test part, in (0, 1). Default 0.2. */
  testFraction?: number;
  /** Seed of the selection. Default 0, so that every run tests on the same images. */
  seed?: number;
}

/** Default cap on a decoded image folder: 2 GiB (e.g. 40,000 RGB images of 128×128). */
export const FOLDER_DEFAULT_MAX_BYTES = 2 * 1024 * 1024 * 1024;

/** An image folder as a {@link Dataset}, with the file of every image and what was left out. */
export interface FolderDataset extends Dataset {
  /** Path of each image, index-aligned with `labels`. */
  files: string[];
  /** Files not loaded (only with `onError: 'skip'`), sorted by path. */
  skipped: SkippedFile[];
  /** Classes with no images (they keep their label index). */
  emptyClasses: string[];
  /** Whether the pixels came from `cacheDir` rather than from decoding. */
  fromCache: boolean;
}

/** The data set as the folder cache stored it. */
function fromCache(
  root: string,
  cached: NonNullable<Awaited<ReturnType<typeof readFolderCache>>>,
): FolderDataset {
  const { header } = cached;
  return {
    images: cached.images,
    labels: cached.labels,
    count: header.count,
    height: header.height,
    width: header.width,
    channels: header.channels,
    classNames: header.classNames,
    source: root,
    files: header.files.map((f) => join(root, f)),
    skipped: header.skipped,
    emptyClasses: header.emptyClasses,
    fromCache: true,
  };
}

/** The `count` images whose `ok` flag is set, packed together in their order. */
function keptImages(pixels: Uint8Array, ok: Uint8Array, count: number, sampleBytes: number): Uint8Array {
  const images = new Uint8Array(count * sampleBytes);
  let j = 0;
  for (let i = 0; i < ok.length; i++) {
    if (ok[i] === 1) images.set(pixels.subarray(i * sampleBytes, (i + 1) * sampleBytes), j++ * sampleBytes);
  }
  return images;
}

/**
 * Loads an image folder `root/<class>/...` into a {@link FolderDataset}: classes sorted (or as
 * given in `classes`), every image decoded and resized with sharp, `concurrency` at a time.
 * Symlinks that lead outside `root` are refused; with `onError: 'skip'` undecodable or refused
 * files are left out and listed in `skipped`, otherwise the first one throws a {@link DatasetError}.
 * With `split`, only the training or the test part (see {@link FolderSplit}).
 */
export async function loadImageFolder(root: string, options: ImageFolderOptions): Promise<FolderDataset> {
  checkFolderOptions(options);
  const { split, ...rest } = options;
  if (split === undefined) return loadWhole(root, rest);
  const { part } = split;
  const testFraction = split.testFraction ?? 0.2;
  const seed = split.seed ?? 0;
  if (await isSplitAlready(root)) {
    const classes =
      rest.classes ??
      (await listFolder(join(root, 'train'), undefined, rest.extensions ?? defaultImageExtensions()))
        .classNames;
    return loadWhole(join(root, part), { ...rest, classes });
  }
  const whole = await loadWhole(root, rest);
  let indices: { train: number[]; val: number[] };
  try {
    indices = splitIndices(whole, { valFraction: testFraction, seed, stratified: true });
  } catch (error) {
    throw new DatasetError(
      root,
      `cannot hold out ${Number((testFraction * 100).toFixed(2))}% of ${whole.count} images as the test part (${(error as Error).message}): add images, or give the folder train/ and test/ sub-folders`,
    );
  }
  const picked = part === 'test' ? indices.val : indices.train;
  const percent = Number(((part === 'test' ? testFraction : 1 - testFraction) * 100).toFixed(2));
  return {
    ...subset(whole, picked),
    source: `${root} (${part} part: ${percent}%, seed ${seed})`,
    files: picked.map((i) => whole.files[i]),
    skipped: whole.skipped,
    emptyClasses: whole.emptyClasses,
    fromCache: whole.fromCache,
  };
}

/**
 * The class names {@link loadImageFolder} finds in `root` (those of `train/` in a folder split
 * already), in label order, from listing the folder alone: no image is decoded.
 */
export async function imageFolderClasses(
  root: string,
  extensions: readonly string[] = defaultImageExtensions(),
): Promise<string[]> {
  const dir = (await isSplitAlready(root)) ? join(root, 'train') : root;
  return (await listFolder(dir, undefined, extensions)).classNames;
}

/** Whether the only (non-hidden) sub-folders of `root` are `train/` and `test/`. */
async function isSplitAlready(root: string): Promise<boolean> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = await readdir(root, { withFileTypes: true });
  } catch {
    return false; // the loader names the problem
  }
  const dirs = entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name);
  return dirs.length === 2 && dirs.includes('train') && dirs.includes('test');
}

async function loadWhole(root: string, options: Omit<ImageFolderOptions, 'split'>): Promise<FolderDataset> {
  const settings = decodeSettings(options);
  const { height, width, channels } = settings;
  const onError = options.onError ?? 'error';
  const concurrency = options.concurrency ?? Math.min(4, availableParallelism());

  const listing = await listFolder(root, options.classes, options.extensions ?? defaultImageExtensions());
  if (onError === 'error' && listing.refused.length > 0) {
    const first = listing.refused[0];
    throw new DatasetError(first.file, first.reason);
  }

  const cacheOptions = { ...settings, onError };
  const realRoot = await realpath(root);
  const key = folderCacheKey({
    ...cacheOptions,
    classNames: listing.classNames,
    files: listing.candidates.map((c) => [relative(root, c.path), c.label, c.size, c.mtimeMs]),
    refused: listing.refused,
  });
  const cachePath = options.cacheDir ? folderCachePath(options.cacheDir, realRoot, cacheOptions) : undefined;
  if (cachePath) {
    const cached = await readFolderCache(cachePath, key);
    if (cached) return fromCache(root, cached);
  }

  const total = listing.candidates.length;
  const maxBytes = options.maxBytes ?? FOLDER_DEFAULT_MAX_BYTES;
  const sampleBytes = height * width * channels;
  if (total * sampleBytes > maxBytes) {
    throw new DatasetError(
      root,
      `${total} images of ${height}×${width}×${channels} would take ${total * sampleBytes} bytes decoded, more than the ${maxBytes}-byte limit (raise it with the maxBytes option, or use a smaller size)`,
    );
  }
  const { pixels, ok, failed } = await decodeAll(
    listing.candidates.map((c) => c.path),
    settings,
    concurrency,
    onError,
  );
  const kept = listing.candidates.filter((_, i) => ok[i] === 1);
  if (kept.length === 0) {
    throw new DatasetError(
      root,
      total === 0
        ? `no images: none of the ${listing.classNames.length} class folders holds a file with a decodable extension`
        : `no images: all ${total} image files failed to decode`,
    );
  }
  const images =
    kept.length === total ? pixels : keptImages(pixels, ok, kept.length, height * width * channels);
  const labels: Labels =
    listing.classNames.length <= 256 ? new Uint8Array(kept.length) : new Uint16Array(kept.length);
  const perClass = new Array<number>(listing.classNames.length).fill(0);
  kept.forEach((c, i) => {
    labels[i] = c.label;
    perClass[c.label]++;
  });
  const skipped = [...listing.refused, ...failed].sort((a, b) => byCodePoint(a.file, b.file));
  const emptyClasses = listing.classNames.filter((_, i) => perClass[i] === 0);
  const files = kept.map((c) => c.path);
  if (cachePath) {
    await writeFolderCache(
      cachePath,
      {
        key,
        count: kept.length,
        height,
        width,
        channels,
        classNames: listing.classNames,
        labelBytes: labels.BYTES_PER_ELEMENT as 1 | 2,
        files: files.map((f) => relative(root, f)),
        skipped,
        emptyClasses,
      },
      labels,
      images,
    );
  }
  return {
    images,
    labels,
    count: kept.length,
    height,
    width,
    channels,
    classNames: listing.classNames,
    source: root,
    files,
    skipped,
    emptyClasses,
    fromCache: false,
  };
}
