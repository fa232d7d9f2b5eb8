import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { readFully } from '@lenet/common';
import { DatasetError } from './errors.js';
import { openDataFile, readDataFile } from './io.js';
import type { Split } from './mnist.js';
import { checkCifarOptions } from './options.js';
import type { Dataset } from './types.js';

/**
 * CIFAR-10 and CIFAR-100 in their "binary version" (cifar-10-binary.tar.gz,
 * cifar-100-binary.tar.gz): fixed-size records of label byte(s) followed by a 32×32×3 image
 * stored channel-planar (1024 red, 1024 green, 1024 blue bytes, row-major). Converted to NHWC.
 */

const SIDE = 32;
const PIXELS = SIDE * SIDE;
const IMAGE_BYTES = PIXELS * 3;

/** Default cap on the bytes of one split's files: 1 GiB, above CIFAR's 150 MB training set. */
export const CIFAR_DEFAULT_MAX_BYTES = 1024 * 1024 * 1024;
/** Cap on a class-name file (`batches.meta.txt`, …): 1 MiB. */
const NAMES_MAX_BYTES = 1024 * 1024;

/** The CIFAR-10 classes, used when `batches.meta.txt` is absent. */
export const CIFAR10_CLASSES: readonly string[] = [
  'airplane',
  'automobile',
  'bird',
  'cat',
  'deer',
  'dog',
  'frog',
  'horse',
  'ship',
  'truck',
];

/** Options of {@link loadCifar10}. */
export interface Cifar10Options {
  split: Split;
  /** Folder with `data_batch_1.bin` … `data_batch_5.bin`, `test_batch.bin` (e.g. `cifar-10-batches-bin`). */
  dir: string;
  /** Largest total size of the split's files, checked before reading. Default {@link CIFAR_DEFAULT_MAX_BYTES}. */
  maxBytes?: number;
}

/** Options of {@link loadCifar100}. */
export interface Cifar100Options {
  split: Split;
  /** Folder with `train.bin`, `test.bin` and optionally the label-name files (e.g. `cifar-100-binary`). */
  dir: string;
  /** Which labels go into `labels`: the 100 fine classes (default) or the 20 coarse superclasses. */
  label?: 'fine' | 'coarse';
  /** Largest size of the split's file, checked before reading. Default {@link CIFAR_DEFAULT_MAX_BYTES}. */
  maxBytes?: number;
}

/** A CIFAR-100 split: `labels` follow `label`; both label sets are kept. */
export interface Cifar100Dataset extends Dataset {
  fineLabels: Uint8Array;
  coarseLabels: Uint8Array;
  fineClassNames: string[];
  coarseClassNames: string[];
}

interface RawRecords {
  images: Uint8Array;
  /** `labelBytes` arrays, one per label byte of the record. */
  labels: Uint8Array[];
  count: number;
  files: string[];
  /** Records in each file, index-aligned with `files`. */
  perFile: number[];
}

/**
 * Reads fixed-size CIFAR records from `files`, checking each file is a whole, non-zero number of
 * records before reading, and converts the planar images to NHWC.
 */
async function readRecords(files: string[], labelBytes: number, maxBytes: number): Promise<RawRecords> {
  const record = labelBytes + IMAGE_BYTES;
  const opened: { handle: FileHandle; size: number; file: string }[] = [];
  try {
    let total = 0;
    for (const file of files) {
      const { handle, size } = await openDataFile(file);
      opened.push({ handle, size, file });
      if (size === 0 || size % record !== 0) {
        throw new DatasetError(
          file,
          `wrong length for a CIFAR file: ${size} bytes is not a whole number of ${record}-byte records (${labelBytes} label byte${labelBytes > 1 ? 's' : ''} + ${IMAGE_BYTES} pixel bytes)`,
        );
      }
      total += size;
      if (total > maxBytes) {
        throw new DatasetError(
          file,
          `the split's files hold ${total} bytes so far, more than the ${maxBytes}-byte limit (raise it with the maxBytes option)`,
        );
      }
    }
    const count = opened.reduce((sum, f) => sum + f.size / record, 0);
    const images = new Uint8Array(count * IMAGE_BYTES);
    const labels = Array.from({ length: labelBytes }, () => new Uint8Array(count));
    let index = 0;
    for (const { handle, size, file } of opened) {
      const raw = new Uint8Array(size);
      const bytesRead = await readFully(handle, raw, 0);
      if (bytesRead !== size) throw new DatasetError(file, `truncated: read ${bytesRead} of ${size} bytes`);
      for (let r = 0; r < size / record; r++, index++) {
        const base = r * record;
        for (let k = 0; k < labelBytes; k++) labels[k][index] = raw[base + k];
        const src = base + labelBytes;
        const dst = index * IMAGE_BYTES;
        for (let p = 0; p < PIXELS; p++) {
          images[dst + 3 * p] = raw[src + p];
          images[dst + 3 * p + 1] = raw[src + PIXELS + p];
          images[dst + 3 * p + 2] = raw[src + 2 * PIXELS + p];
        }
      }
    }
    return { images, labels, count, files, perFile: opened.map((f) => f.size / record) };
  } finally {
    await Promise.all(opened.map((f) => f.handle.close()));
  }
}

/** Reads a class-name file (one name per line; blank lines ignored), or `undefined` if absent. */
async function readNames(file: string): Promise<string[] | undefined> {
  let text: string;
  try {
    text = (await readDataFile(file, { maxBytes: NAMES_MAX_BYTES })).toString('utf8');
  } catch (error) {
    if (((error as Error).cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') return undefined;
    throw error;
  }
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line.length > 0);
}

function checkLabels(labels: Uint8Array, classes: number, raw: RawRecords, what: string): void {
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] >= classes) {
      // Name the file the record is in, and its index within that file.
      let record = i;
      let f = 0;
      while (record >= raw.perFile[f]) record -= raw.perFile[f++];
      throw new DatasetError(
        raw.files[f],
        `${what} label ${labels[i]} of record ${record} is out of range for ${classes} classes`,
      );
    }
  }
}

/**
 * Loads CIFAR-10 (binary version): `data_batch_1..5.bin` for `train` (50,000 images),
 * `test_batch.bin` for `test` (10,000). Class names come from `batches.meta.txt` when present.
 */
export async function loadCifar10(options: Cifar10Options): Promise<Dataset> {
  const { dir } = options;
  const { split, maxBytes } = checkCifarOptions(options, CIFAR_DEFAULT_MAX_BYTES);
  const names = split === 'train' ? [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`) : ['test_batch.bin'];
  const files = names.map((name) => join(dir, name));
  const metaFile = join(dir, 'batches.meta.txt');
  const [raw, meta] = await Promise.all([readRecords(files, 1, maxBytes), readNames(metaFile)]);
  const classNames = meta ?? [...CIFAR10_CLASSES];
  if (meta && meta.length !== 10) {
    throw new DatasetError(metaFile, `expected 10 class names, found ${meta.length}`);
  }
  checkLabels(raw.labels[0], classNames.length, raw, 'class');
  return {
    images: raw.images,
    labels: raw.labels[0],
    count: raw.count,
    height: SIDE,
    width: SIDE,
    channels: 3,
    classNames,
    source: files.join(', '),
  };
}

/**
 * Loads CIFAR-100 (binary version): `train.bin` (50,000) or `test.bin` (10,000), each record a
 * coarse label byte, a fine label byte and the image. Class names come from
 * `fine_label_names.txt` / `coarse_label_names.txt` when present, else they are `'0'`, `'1'`, ….
 */
export async function loadCifar100(options: Cifar100Options): Promise<Cifar100Dataset> {
  const { dir } = options;
  const { split, maxBytes } = checkCifarOptions(options, CIFAR_DEFAULT_MAX_BYTES);
  const file = join(dir, `${split}.bin`);
  const fineFile = join(dir, 'fine_label_names.txt');
  const coarseFile = join(dir, 'coarse_label_names.txt');
  const [raw, fineNames, coarseNames] = await Promise.all([
    readRecords([file], 2, maxBytes),
    readNames(fineFile),
    readNames(coarseFile),
  ]);
  const numbered = (n: number) => Array.from({ length: n }, (_, i) => String(i));
  const fineClassNames = fineNames ?? numbered(100);
  const coarseClassNames = coarseNames ?? numbered(20);
  if (fineClassNames.length !== 100) {
    throw new DatasetError(fineFile, `expected 100 class names, found ${fineClassNames.length}`);
  }
  if (coarseClassNames.length !== 20) {
    throw new DatasetError(coarseFile, `expected 20 class names, found ${coarseClassNames.length}`);
  }
  const [coarseLabels, fineLabels] = raw.labels;
  checkLabels(coarseLabels, 20, raw, 'coarse');
  checkLabels(fineLabels, 100, raw, 'fine');
  const coarse = options.label === 'coarse';
  return {
    images: raw.images,
    labels: coarse ? coarseLabels : fineLabels,
    count: raw.count,
    height: SIDE,
    width: SIDE,
    channels: 3,
    classNames: coarse ? coarseClassNames : fineClassNames,
    source: file,
    fineLabels,
    coarseLabels,
    fineClassNames,
    coarseClassNames,
  };
}
