import { readdirSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import {
  decodeImageFile,
  encodePng,
  exportImages,
  head,
  invertPixels,
  isDarkOnLight,
  loadMnist,
} from './index.js';
import { tempDir } from './testing/fixtures.js';
import { syntheticDataset } from './testing/synthetic.js';

const tmp = await tempDir();
afterAll(() => tmp.cleanup());

const MNIST_SHAPE = { height: 28, width: 28, channels: 1 };

describe('exportImages', () => {
  it('writes MNIST test images as <index>-<label>.png that decode back to the same pixels', async () => {
    const test = await loadMnist({ split: 'test' });
    const dir = `${tmp.dir}/mnist`;
    const files = await exportImages(test, dir, { start: 0, count: 10 });
    expect(files.map((f) => f.file.slice(dir.length + 1))).toEqual(
      Array.from({ length: 10 }, (_, i) => `0000${i}-${test.labels[i]}.png`),
    );
    expect(files[0].file).toMatch(/00000-7\.png$/);
    expect(readdirSync(dir).sort()).toHaveLength(10);
    for (const { file, index, label } of files) {
      expect(label).toBe(test.labels[index]);
      const pixels = await decodeImageFile(file, { size: [28, 28], channels: 1 });
      expect(
        Buffer.from(pixels).equals(Buffer.from(test.images.subarray(index * 784, (index + 1) * 784))),
      ).toBe(true);
    }
  });

  it('writes RGB images losslessly and starts where asked', async () => {
    const ds = syntheticDataset(4, 8, 6, 3);
    const files = await exportImages(ds, `${tmp.dir}/rgb`, { start: 2 });
    expect(files.map((f) => f.index)).toEqual([2, 3]);
    const pixels = await decodeImageFile(files[1].file, { size: [8, 6], channels: 3 });
    expect(Array.from(pixels)).toEqual(Array.from(ds.images.subarray(3 * 144, 4 * 144)));
  });

  it('refuses a range outside the data set', async () => {
    const ds = head(syntheticDataset(3, 4, 4, 1), 3);
    await expect(exportImages(ds, tmp.dir, { start: 3 })).rejects.toThrow(
      /start must be an integer in \[0, 3\)/,
    );
    await expect(exportImages(ds, tmp.dir, { count: 4 })).rejects.toThrow(
      /count must be an integer from 1 to 3/,
    );
    await expect(encodePng(new Uint8Array(5), { height: 2, width: 2, channels: 1 })).rejects.toThrow(
      /5 bytes do not hold a 2x2x1 image/,
    );
  });
});

describe('isDarkOnLight and invertPixels', () => {
  it('tells an MNIST digit (light on dark) from its negative', async () => {
    const test = await loadMnist({ split: 'test' });
    for (let i = 0; i < 100; i++) {
      const digit = test.images.subarray(i * 784, (i + 1) * 784);
      expect(isDarkOnLight(digit, MNIST_SHAPE), `image ${i}`).toBe(false);
      const negative = invertPixels(digit);
      expect(isDarkOnLight(negative, MNIST_SHAPE), `negative of image ${i}`).toBe(true);
      expect(Array.from(invertPixels(negative))).toEqual(Array.from(digit));
    }
  });

  it('leaves a uniform image alone and checks the size', () => {
    expect(isDarkOnLight(new Uint8Array(784).fill(255), MNIST_SHAPE)).toBe(false);
    expect(isDarkOnLight(new Uint8Array(1), { height: 1, width: 1, channels: 1 })).toBe(false);
    expect(() => isDarkOnLight(new Uint8Array(10), MNIST_SHAPE)).toThrow(/10 bytes do not hold a 28x28x1/);
  });
});
