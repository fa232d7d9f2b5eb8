import { join } from 'node:path';
import { writeFileAtomic } from '@lenet/common';
import sharp from 'sharp';
import type { ImageShape } from './image-polarity.js';
import type { Dataset } from './types.js';

/**
 * Encoding with sharp, the other half of `decodeImageFile`: uint8 HWC pixels to PNG, losslessly,
 * so decoding a written file at its own size gives back the same bytes.
 */

/** Encodes one uint8 HWC image (1 grey or 3 RGB channels) as PNG bytes. */
export async function encodePng(pixels: Uint8Array, shape: ImageShape): Promise<Uint8Array> {
  const { height, width, channels } = shape;
  if (channels !== 1 && channels !== 3) throw new RangeError(`encodePng: 1 or 3 channels, got ${channels}`);
  if (pixels.length !== height * width * channels) {
    throw new RangeError(
      `encodePng: ${pixels.length} bytes do not hold a ${height}x${width}x${channels} image`,
    );
  }
  const png = await sharp(Buffer.from(pixels.buffer, pixels.byteOffset, pixels.length), {
    raw: { width, height, channels },
  })
    .png()
    .toBuffer();
  return new Uint8Array(png.buffer, png.byteOffset, png.length);
}

/** Options of {@link exportImages}. */
export interface ExportImagesOptions {
  /** Index of the first image written (default 0). */
  start?: number;
  /** How many images (default: all from `start` on). */
  count?: number;
}

/** One file {@link exportImages} wrote. */
export interface ExportedImage {
  file: string;
  /** Index of the image in the data set. */
  index: number;
  /** Its label (the class index). */
  label: number;
}

/**
 * Writes images of a data set as PNG files into `dir` (created if missing), named
 * `<index>-<label>.png` with the index zero-padded to at least five digits (`00000-7.png`), so a
 * folder listing sorts in data-set order and shows each file's true class. Each file is written
 * atomically.
 */
export async function exportImages(
  ds: Dataset,
  dir: string,
  options: ExportImagesOptions = {},
): Promise<ExportedImage[]> {
  const start = options.start ?? 0;
  const count = options.count ?? ds.count - start;
  if (!Number.isInteger(start) || start < 0 || start >= ds.count) {
    throw new RangeError(`exportImages: start must be an integer in [0, ${ds.count}), got ${start}`);
  }
  if (!Number.isInteger(count) || count < 1 || start + count > ds.count) {
    throw new RangeError(
      `exportImages: count must be an integer from 1 to ${ds.count - start} (the images after start), got ${count}`,
    );
  }
  const shape = { height: ds.height, width: ds.width, channels: ds.channels };
  const size = ds.height * ds.width * ds.channels;
  const digits = Math.max(5, String(start + count - 1).length);
  const written: ExportedImage[] = [];
  for (let index = start; index < start + count; index++) {
    const label = ds.labels[index];
    const file = join(dir, `${String(index).padStart(digits, '0')}-${label}.png`);
    await writeFileAtomic(file, await encodePng(ds.images.subarray(index * size, (index + 1) * size), shape));
    written.push({ file, index, label });
  }
  return written;
}
