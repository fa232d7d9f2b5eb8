import sharp from 'sharp';
import { DatasetError } from './errors.js';
import type { SkippedFile } from './folder-walk.js';
import { openDataFile } from './io.js';
import { checkDecodeOptions } from './options.js';

/**
 * Decoding with sharp: one image to `height × width × channels` uint8 HWC pixels, fitted and
 * resampled as Keras and torchvision do, and many images a few at a time.
 */

/** How an image is fitted to the target size (sharp's `fit`): stretch, crop, or letterbox. */
export type FolderFit = 'fill' | 'cover' | 'contain';
/** Resampling kernel used when resizing (sharp's `kernel`). */
export type FolderKernel = 'nearest' | 'linear' | 'cubic' | 'mitchell' | 'lanczos2' | 'lanczos3';

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

/** Everything that decides an image's pixels (also part of the folder cache's key). */
export interface DecodeSettings {
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

/** The settings `options` ask for, with the defaults filled in; throws an `OptionError` for a bad one. */
export function decodeSettings(options: DecodeImageOptions): DecodeSettings {
  const [height, width] = checkDecodeOptions(options);
  return {
    height,
    width,
    channels: options.channels ?? 3,
    fit: options.fit ?? 'fill',
    kernel: options.kernel ?? 'linear',
    background: options.background ?? 0,
  };
}

/**
 * Decodes and resizes one image exactly as `loadImageFolder` does, so single images (e.g. for
 * prediction) match the training data. Throws a {@link DatasetError} naming the file.
 */
export async function decodeImageFile(file: string, options: DecodeImageOptions): Promise<Uint8Array> {
  const settings = decodeSettings(options);
  // sharp opens the path itself: a FIFO or device would block it, so only a regular file goes in.
  const { handle } = await openDataFile(file);
  await handle.close();
  try {
    return await decodeImage(file, settings);
  } catch (e) {
    throw new DatasetError(file, `cannot decode image: ${(e as Error).message.split('\n')[0]}`);
  }
}

/** Decodes one image file with sharp into `height × width × channels` uint8 HWC pixels. */
async function decodeImage(file: string, settings: DecodeSettings): Promise<Uint8Array> {
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

/** What {@link decodeAll} made: every image's pixels at its index, which ones decoded, what failed. */
export interface DecodedImages {
  pixels: Uint8Array;
  /** 1 where the image at that index was decoded. */
  ok: Uint8Array;
  failed: SkippedFile[];
}

/**
 * Decodes `files` into one buffer, `concurrency` at a time. With `onError: 'error'` the first
 * failure stops the others and throws a {@link DatasetError}; with `'skip'` it is listed in `failed`.
 */
export async function decodeAll(
  files: readonly string[],
  settings: DecodeSettings,
  concurrency: number,
  onError: 'error' | 'skip',
): Promise<DecodedImages> {
  const sampleBytes = settings.height * settings.width * settings.channels;
  const total = files.length;
  const pixels = new Uint8Array(total * sampleBytes);
  const ok = new Uint8Array(total);
  const failed: SkippedFile[] = [];
  let next = 0;
  let stop = false;
  const worker = async (): Promise<void> => {
    while (!stop && next < total) {
      const i = next++;
      const path = files[i];
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
  return { pixels, ok, failed };
}
