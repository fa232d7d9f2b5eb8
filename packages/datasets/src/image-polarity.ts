/**
 * Which way round an image's ink is. MNIST-style data sets hold light strokes on a dark
 * background; a digit scanned or drawn on paper is the opposite and must be inverted before a
 * model trained on MNIST can read it.
 */

/** Height, width and channels of one uint8 HWC image. */
export interface ImageShape {
  height: number;
  width: number;
  channels: number;
}

/**
 * Whether an image looks dark-on-light: the mean of its border (the outer tenth on each side, at
 * least one pixel) is brighter than the mean of its central half. A centred digit on a plain
 * background decides this reliably; a uniform image counts as light-on-dark (left as it is).
 */
export function isDarkOnLight(pixels: Uint8Array, shape: ImageShape): boolean {
  const { height, width, channels } = shape;
  if (pixels.length !== height * width * channels) {
    throw new RangeError(
      `isDarkOnLight: ${pixels.length} bytes do not hold a ${height}x${width}x${channels} image`,
    );
  }
  const ring = Math.max(1, Math.floor(Math.min(height, width) / 10));
  let border = 0;
  let borderCount = 0;
  let centre = 0;
  let centreCount = 0;
  for (let y = 0; y < height; y++) {
    const edgeRow = y < ring || y >= height - ring;
    const midRow = y >= height / 4 && y < (height * 3) / 4;
    for (let x = 0; x < width; x++) {
      const edge = edgeRow || x < ring || x >= width - ring;
      const mid = midRow && x >= width / 4 && x < (width * 3) / 4;
      if (!edge && !mid) continue;
      let sum = 0;
      for (let c = 0; c < channels; c++) sum += pixels[(y * width + x) * channels + c];
      if (edge) {
        border += sum;
        borderCount += channels;
      }
      if (mid) {
        centre += sum;
        centreCount += channels;
      }
    }
  }
  return centreCount > 0 && border / borderCount > centre / centreCount;
}

/** A copy of `pixels` with every value `v` replaced by `255 − v` (a photographic negative). */
export function invertPixels(pixels: Uint8Array): Uint8Array {
  const out = new Uint8Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) out[i] = 255 - pixels[i];
  return out;
}
