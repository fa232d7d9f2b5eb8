import type { Dirent } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { extname, join, relative, sep } from 'node:path';
import sharp from 'sharp';
import { DatasetError } from './errors.js';
import { folderCacheKey, folderCachePath, readFolderCache, writeFolderCache } from './folder-cache.js';
import type { Dataset, Labels } from './types.js';

/**
 * Image-folder loader with the semantics of torchvision `ImageFolder` and Keras
 * `image_dataset_from_directory`: `root/<class>/**\/*.<ext>`, classes sorted by name (code-point
 * order) unless given, each image decoded and resized with sharp to one size and 1 or 3 channels.
 */

/** How an image is fitted to the target size (sharp's `fit`): stretch, crop, or letterbox. */
export type FolderFit = 'fill' | 'cover' | 'contain';
/** Resampling kernel used when resizing (sharp's `kernel`). */
export type FolderKernel = 'nearest' | 'linear' | 'cubic' | 'mitchell' | 'lanczos2' | 'lanczos3';

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
}

/** A file that was left out, and why. */
export interface SkippedFile {
  file: string;
  reason: string;
}

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

const EXTENSION_FORMATS: Record<string, string> = {
  png: 'png',
  jpg: 'jpeg',
  jpeg: 'jpeg',
  webp: 'webp',
  gif: 'gif',
  bmp: 'magick',
  tif: 'tiff',
  tiff: 'tiff',
  avif: 'heif',
};

/**
 * The extensions looked for by default: png, jpg, jpeg, webp, gif, bmp, tif, tiff, avif — each
 * only if this build of sharp can decode it (the prebuilt sharp has no BMP decoder, so `.bmp`
 * files are ignored there).
 */
export function defaultImageExtensions(): string[] {
  const formats = sharp.format as unknown as Record<string, { input?: { file?: boolean } } | undefined>;
  return Object.entries(EXTENSION_FORMATS)
    .filter(([, format]) => formats[format]?.input?.file === true)
    .map(([ext]) => ext);
}

interface Candidate {
  path: string;
  label: number;
  size: number;
  mtimeMs: number;
}

interface Listing {
  classNames: string[];
  candidates: Candidate[];
  refused: SkippedFile[];
}

function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function isInside(realRoot: string, real: string): boolean {
  return real === realRoot || real.startsWith(realRoot.endsWith(sep) ? realRoot : realRoot + sep);
}

async function readDirSorted(dir: string): Promise<Dirent[]> {
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    return entries.sort((a, b) => byCodePoint(a.name, b.name));
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new DatasetError(dir, `folder cannot be read: ${message}`, { cause: error });
  }
}

/** Resolves a symlink; `undefined` plus a refusal when it is broken or leads outside the root. */
async function followLink(
  path: string,
  realRoot: string,
  refused: SkippedFile[],
): Promise<string | undefined> {
  let real: string;
  try {
    real = await realpath(path);
  } catch {
    refused.push({ file: path, reason: 'broken symlink: its target does not exist' });
    return undefined;
  }
  if (!isInside(realRoot, real)) {
    refused.push({ file: path, reason: `symlink leads outside the root folder (to ${real}); refused` });
    return undefined;
  }
  return real;
}

async function walkClass(
  dir: string,
  label: number,
  realRoot: string,
  extensions: Set<string>,
  visited: Set<string>,
  listing: Listing,
): Promise<void> {
  for (const entry of await readDirSorted(dir)) {
    if (entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    const isImageName = extensions.has(extname(entry.name).slice(1).toLowerCase());
    let target = path;
    let isDir = entry.isDirectory();
    let isFile = entry.isFile();
    if (entry.isSymbolicLink()) {
      const info = await stat(path).catch(() => undefined);
      if (info === undefined) {
        if (isImageName)
          listing.refused.push({ file: path, reason: 'broken symlink: its target does not exist' });
        continue;
      }
      if (!info.isDirectory() && !isImageName) continue; // not something that would be loaded
      const real = await followLink(path, realRoot, listing.refused);
      if (real === undefined) continue;
      target = real;
      isDir = info.isDirectory();
      isFile = info.isFile();
    }
    if (isDir) {
      const real = await realpath(target);
      if (visited.has(real)) continue; // a symlink loop inside the root
      visited.add(real);
      await walkClass(path, label, realRoot, extensions, visited, listing);
    } else if (isFile && isImageName) {
      const info = await stat(target);
      listing.candidates.push({ path, label, size: info.size, mtimeMs: info.mtimeMs });
    }
  }
}

async function listFolder(root: string, options: ImageFolderOptions): Promise<Listing> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(root);
  } catch {
    throw new DatasetError(root, 'missing: no such folder');
  }
  if (!info.isDirectory()) throw new DatasetError(root, 'is not a folder (expected root/<class>/<image>)');
  const realRoot = await realpath(root);
  const listing: Listing = { classNames: [], candidates: [], refused: [] };
  const classDirs = new Map<string, string>();
  for (const entry of await readDirSorted(root)) {
    if (entry.name.startsWith('.')) continue;
    const path = join(root, entry.name);
    if (entry.isDirectory()) classDirs.set(entry.name, path);
    else if (entry.isSymbolicLink() && (await stat(path).catch(() => undefined))?.isDirectory()) {
      if ((await followLink(path, realRoot, listing.refused)) !== undefined) classDirs.set(entry.name, path);
    }
  }
  if (options.classes) {
    const seen = new Set<string>();
    for (const name of options.classes) {
      if (seen.has(name)) throw new DatasetError(root, `class '${name}' is listed twice in classes`);
      seen.add(name);
      if (!classDirs.has(name)) {
        throw new DatasetError(join(root, name), `missing: class '${name}' from classes has no folder`);
      }
    }
    listing.classNames = [...options.classes];
  } else {
    listing.classNames = [...classDirs.keys()];
  }
  if (listing.classNames.length === 0) {
    throw new DatasetError(
      root,
      'no classes: the folder has no class sub-folders (expected root/<class>/<image>)',
    );
  }
  if (listing.classNames.length > 65536) {
    throw new DatasetError(root, `too many classes (${listing.classNames.length}); at most 65536`);
  }
  const extensions = new Set((options.extensions ?? defaultImageExtensions()).map((e) => e.toLowerCase()));
  for (const [label, name] of listing.classNames.entries()) {
    const dir = classDirs.get(name)!;
    await walkClass(dir, label, realRoot, extensions, new Set([await realpath(dir)]), listing);
  }
  return listing;
}

function targetSize(size: ImageFolderOptions['size']): [number, number] {
  const [height, width] = typeof size === 'number' ? [size, size] : size;
  for (const v of [height, width]) {
    if (!Number.isInteger(v) || v < 1 || v > 16384) {
      throw new RangeError(`size must be positive integers up to 16384, got ${JSON.stringify(size)}`);
    }
  }
  return [height, width];
}

interface DecodeSettings {
  height: number;
  width: number;
  channels: 1 | 3;
  fit: FolderFit;
  kernel: FolderKernel;
  background: number;
}

/** Options of {@link decodeImageFile}: the same decode settings the image-folder loader uses. */
export interface DecodeImageOptions {
  /** Target size: `[height, width]`, or one number for a square. */
  size: number | readonly [number, number];
  /** 1 (grayscale) or 3 (RGB). Default 3. */
  channels?: 1 | 3;
  fit?: FolderFit;
  kernel?: FolderKernel;
  background?: number;
}

/**
 * Decodes and resizes one image exactly as {@link loadImageFolder} does, so single images (e.g. for
 * prediction) match the training data. Throws a {@link DatasetError} naming the file.
 */
export async function decodeImageFile(file: string, options: DecodeImageOptions): Promise<Uint8Array> {
  const [height, width] = targetSize(options.size);
  try {
    return await decodeImage(file, {
      height,
      width,
      channels: options.channels ?? 3,
      fit: options.fit ?? 'fill',
      kernel: options.kernel ?? 'linear',
      background: options.background ?? 0,
    });
  } catch (e) {
    throw new DatasetError(file, `cannot decode image: ${(e as Error).message.split('\n')[0]}`);
  }
}

/** Decodes one image file with sharp into `height × width × channels` uint8 HWC pixels. */
export async function decodeImage(file: string, settings: DecodeSettings): Promise<Uint8Array> {
  const { height, width, channels, fit, kernel, background } = settings;
  let pipeline = sharp(file)
    .removeAlpha()
    .resize(width, height, { fit, kernel, background: { r: background, g: background, b: background } });
  pipeline = channels === 1 ? pipeline.toColourspace('b-w') : pipeline.toColourspace('srgb');
  const { data, info } = await pipeline.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  if (info.width !== width || info.height !== height || info.channels !== channels) {
    throw new Error(
      `sharp produced ${info.width}×${info.height}×${info.channels}, expected ${width}×${height}×${channels}`,
    );
  }
  return new Uint8Array(data.buffer, data.byteOffset, data.length);
}

/**
 * Loads an image folder `root/<class>/...` into a {@link FolderDataset}: classes sorted (or as
 * given in `classes`), every image decoded and resized with sharp, `concurrency` at a time.
 * Symlinks that lead outside `root` are refused; with `onError: 'skip'` undecodable or refused
 * files are left out and listed in `skipped`, otherwise the first one throws a {@link DatasetError}.
 */
export async function loadImageFolder(root: string, options: ImageFolderOptions): Promise<FolderDataset> {
  const [height, width] = targetSize(options.size);
  const channels = options.channels ?? 3;
  if (channels !== 1 && channels !== 3)
    throw new RangeError(`channels must be 1 or 3, got ${String(channels)}`);
  const onError = options.onError ?? 'error';
  const concurrency = options.concurrency ?? Math.min(4, availableParallelism());
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new RangeError(`concurrency must be a positive integer, got ${concurrency}`);
  }
  const settings: DecodeSettings = {
    height,
    width,
    channels,
    fit: options.fit ?? 'fill',
    kernel: options.kernel ?? 'linear',
    background: options.background ?? 0,
  };

  const listing = await listFolder(root, options);
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
    if (cached) {
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
  }

  const sampleBytes = height * width * channels;
  const total = listing.candidates.length;
  const pixels = new Uint8Array(total * sampleBytes);
  const ok = new Uint8Array(total);
  const failed: SkippedFile[] = [];
  let next = 0;
  let stop = false;
  const worker = async (): Promise<void> => {
    while (!stop && next < total) {
      const i = next++;
      const { path } = listing.candidates[i];
      try {
        pixels.set(await decodeImage(path, settings), i * sampleBytes);
        ok[i] = 1;
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        const reason = `cannot be decoded by sharp: ${message}`;
        if (onError === 'error') {
          stop = true;
          throw new DatasetError(path, reason, { cause: error });
        }
        failed.push({ file: path, reason });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, Math.max(total, 1)) }, worker));

  const kept = listing.candidates.filter((_, i) => ok[i] === 1);
  if (kept.length === 0) {
    throw new DatasetError(
      root,
      total === 0
        ? `no images: none of the ${listing.classNames.length} class folders holds a file with a decodable extension`
        : `no images: all ${total} image files failed to decode`,
    );
  }
  let images = pixels;
  if (kept.length !== total) {
    images = new Uint8Array(kept.length * sampleBytes);
    let j = 0;
    for (let i = 0; i < total; i++) {
      if (ok[i] === 1) images.set(pixels.subarray(i * sampleBytes, (i + 1) * sampleBytes), j++ * sampleBytes);
    }
  }
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
