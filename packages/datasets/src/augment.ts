import type { Rng } from './random.js';

/**
 * Seeded, label-preserving augmentation for training, applied per sample on the fly by
 * `batches`: random crop with zero padding (torchvision `RandomCrop(size, padding)`), horizontal
 * flip (`RandomHorizontalFlip`) and a small random translation (`RandomAffine(translate=…)`,
 * Keras `RandomTranslation`). All three reduce to an integer shift plus an optional mirror, with
 * zero (black) fill — so output size equals input size.
 */
export interface AugmentOptions {
  /** Random crop after padding each side by `padding` pixels: a shift of up to ±`padding` in x and y. */
  crop?: { padding: number };
  /** Mirror left–right with probability 0.5. */
  flip?: boolean;
  /**
   * Random translation up to this fraction of the height and width (one number for both, or
   * `[fy, fx]`), e.g. 0.1 → up to ±2.8 px on 28×28, rounded to whole pixels.
   */
  translate?: number | readonly [number, number];
  /** Seed of the augmentation stream; default: the `seed` given to `batches`. */
  seed?: number;
}

/** One sample's drawn transform: shift by `dx`, `dy` pixels after an optional mirror. */
export interface SampleTransform {
  dx: number;
  dy: number;
  flip: boolean;
}

/** Draws the transform of one `height × width` sample from `rng`. */
export function sampleTransform(
  rng: Rng,
  options: AugmentOptions,
  height: number,
  width: number,
): SampleTransform {
  let dx = 0;
  let dy = 0;
  const padding = options.crop?.padding ?? 0;
  if (padding > 0) {
    dy += rng.int(2 * padding + 1) - padding;
    dx += rng.int(2 * padding + 1) - padding;
  }
  if (options.translate !== undefined) {
    const [fy, fx] =
      typeof options.translate === 'number' ? [options.translate, options.translate] : options.translate;
    const my = fy * height;
    const mx = fx * width;
    // Uniform in [-max, max], rounded, as torchvision RandomAffine does.
    if (my > 0) dy += Math.round((rng.next() * 2 - 1) * my);
    if (mx > 0) dx += Math.round((rng.next() * 2 - 1) * mx);
  }
  const flip = options.flip === true && rng.next() < 0.5;
  return { dx, dy, flip };
}

/**
 * Applies a transform to one HWC uint8 image: `out[y][x] = in'[y - dy][x - dx]`, where `in'` is
 * `in` mirrored when `flip`; pixels shifted in from outside are `fill`.
 */
export function applyTransform(
  image: Uint8Array,
  height: number,
  width: number,
  channels: number,
  t: SampleTransform,
  fill = 0,
): Uint8Array {
  const out = new Uint8Array(height * width * channels).fill(fill);
  for (let y = 0; y < height; y++) {
    const sy = y - t.dy;
    if (sy < 0 || sy >= height) continue;
    for (let x = 0; x < width; x++) {
      const shifted = x - t.dx;
      if (shifted < 0 || shifted >= width) continue;
      const sx = t.flip ? width - 1 - shifted : shifted;
      const src = (sy * width + sx) * channels;
      const dst = (y * width + x) * channels;
      for (let c = 0; c < channels; c++) out[dst + c] = image[src + c];
    }
  }
  return out;
}
