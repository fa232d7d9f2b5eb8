// Tiny in-memory data sets for the tests. Not exported by the package.
import type { Dataset } from '../types.js';

/** `count` images of `h×w×c` whose every pixel of sample i, channel k is (i * 3 + k * 50 + y * w + x) % 256. */
export function syntheticDataset(count: number, h: number, w: number, c: number, classes = 3): Dataset {
  const images = new Uint8Array(count * h * w * c);
  for (let i = 0; i < count; i++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        for (let k = 0; k < c; k++)
          images[((i * h + y) * w + x) * c + k] = (i * 3 + k * 50 + y * w + x) % 256;
      }
    }
  }
  const labels = Uint8Array.from({ length: count }, (_, i) => i % classes);
  return {
    images,
    labels,
    count,
    height: h,
    width: w,
    channels: c,
    classNames: Array.from({ length: classes }, (_, i) => `c${i}`),
    source: 'synthetic',
  };
}
