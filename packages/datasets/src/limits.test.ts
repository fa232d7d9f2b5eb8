import { mkdir, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { OptionError } from '@lenet/common';
import { fifo, fifoWriters, settle } from '@lenet/testing';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batches } from './batches.js';
import { loadCifar10 } from './cifar.js';
import { DatasetError } from './errors.js';
import { loadImageFolder } from './folder.js';
import { decodeImageFile } from './folder-decode.js';
import { readIdx } from './idx.js';
import { meanStd } from './split.js';
import { idxBytes, put, tempDir } from './testing/fixtures.js';
import { syntheticDataset } from './testing/synthetic.js';

const posix = process.platform !== 'win32';
let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterAll(async () => {
  for (const w of fifoWriters) w.kill();
  await cleanup();
});

/** The error a loader settled to within 1.5 s; a hang fails the test with a clear message. */
async function failure(promise: Promise<unknown>): Promise<DatasetError> {
  const r = await settle(promise, 1500);
  expect(r.hang, 'the loader waited on the file instead of refusing it').toBeUndefined();
  expect(r.error).toBeInstanceOf(DatasetError);
  return r.error as DatasetError;
}

describe('only regular files are read as data (class 3: no hang on a FIFO or device)', () => {
  it.runIf(posix)('refuses a FIFO as an IDX file, plain or by name .gz', async () => {
    for (const name of ['t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte.gz']) {
      const path = fifo(dir, name);
      const e = await failure(readIdx(path));
      expect(e.file).toBe(path);
      expect(e.message).toMatch(/is a FIFO \(named pipe\), not a regular file/);
    }
  });

  it.runIf(posix)('refuses a character device (/dev/zero never ends)', async () => {
    const e = await failure(readIdx('/dev/zero'));
    expect(e.message).toBe(
      '/dev/zero: is a character device, not a regular file: only regular files are read as data',
    );
  });

  it.runIf(posix)('refuses a FIFO as a CIFAR batch or its class-name file', async () => {
    const c10 = join(dir, 'cifar-fifo');
    await mkdir(c10);
    await writeFile(join(c10, 'test_batch.bin'), new Uint8Array(3073));
    const meta = fifo(c10, 'batches.meta.txt');
    expect((await failure(loadCifar10({ split: 'test', dir: c10 }))).file).toBe(meta);
    // A folder of its own: the loader reads a split's batches and its class-name file
    // concurrently, so beside the FIFO above the first refusal to settle could name either.
    const train = join(dir, 'cifar-fifo-train');
    await mkdir(train);
    const batch = fifo(train, 'data_batch_1.bin');
    expect((await failure(loadCifar10({ split: 'train', dir: train }))).file).toBe(batch);
  });

  it.runIf(posix)('lists a FIFO with an image name as refused, and decodeImageFile refuses one', async () => {
    const root = join(dir, 'folder-fifo');
    await mkdir(join(root, 'a'), { recursive: true });
    await sharp({ create: { width: 4, height: 4, channels: 3, background: { r: 9, g: 9, b: 9 } } })
      .png()
      .toFile(join(root, 'a', 'ok.png'));
    const pipe = fifo(join(root, 'a'), 'pipe.png');
    const e = await failure(loadImageFolder(root, { size: 4 }));
    expect(e.file).toBe(pipe);
    expect(e.reason).toMatch(/not a regular file/);
    const skipped = await loadImageFolder(root, { size: 4, onError: 'skip' });
    expect(skipped.count).toBe(1);
    expect(skipped.skipped.map((s) => s.file)).toEqual([pipe]);
    const other = fifo(dir, 'other.png');
    expect((await failure(decodeImageFile(other, { size: 4 }))).file).toBe(other);
  });
});

describe('limits from declared sizes, checked before reading or allocating (class 2)', () => {
  it('refuses CIFAR files larger in total than maxBytes before reading them', async () => {
    const c10 = join(dir, 'cifar-big');
    await mkdir(c10);
    const file = join(c10, 'test_batch.bin');
    // A sparse file just over the 1 GiB default: refused from its length, never read.
    await writeFile(file, new Uint8Array(0));
    await truncate(file, 3073 * Math.ceil(2 ** 30 / 3073 + 1));
    const started = Date.now();
    const e = await failure(loadCifar10({ split: 'test', dir: c10 }));
    expect(e.message).toMatch(/more than the 1073741824-byte limit \(raise it with the maxBytes option\)/);
    expect(Date.now() - started).toBeLessThan(1000);
    await truncate(file, 3073 * 4);
    await expect(loadCifar10({ split: 'test', dir: c10, maxBytes: 3073 * 3 })).rejects.toThrow(
      /more than the 9219-byte limit/,
    );
    await expect(loadCifar10({ split: 'test', dir: c10 })).resolves.toMatchObject({ count: 4 });
  });

  it('refuses an image folder whose decoded size would pass maxBytes, before decoding', async () => {
    const root = join(dir, 'folder-big');
    await mkdir(join(root, 'a'), { recursive: true });
    for (const n of ['1', '2', '3']) {
      await sharp({ create: { width: 2, height: 2, channels: 3, background: { r: 1, g: 2, b: 3 } } })
        .png()
        .toFile(join(root, 'a', `${n}.png`));
    }
    // 3 × 16384² × 3 bytes = 2.25 GiB decoded from three 2×2 files.
    const e = await failure(loadImageFolder(root, { size: 16384 }));
    expect(e.file).toBe(root);
    expect(e.reason).toMatch(
      /3 images of 16384×16384×3 would take 2415919104 bytes decoded, more than the 2147483648-byte limit \(raise it with the maxBytes option/,
    );
    await expect(loadImageFolder(root, { size: 4, maxBytes: 47 })).rejects.toThrow(
      /more than the 47-byte limit/,
    );
  });

  it('names the IDX limit and how to raise it', async () => {
    const file = await put(dir, 'claims-big', idxBytes([2, 3]));
    await expect(readIdx(file, { maxBytes: 5 })).rejects.toThrow(/more than the 5-byte limit \(maxBytes\)/);
  });
});

describe('non-finite values are refused where they enter (class 1)', () => {
  it('a normalisation with std 0 (a constant channel) is a DatasetError naming the data set', () => {
    const flat = { ...syntheticDataset(4, 2, 2, 1), images: new Uint8Array(16).fill(7), source: 'flat.idx' };
    const stats = meanStd(flat);
    expect(stats.std).toEqual([0]);
    const run = () => [...batches(flat, { batchSize: 2, normalize: stats })];
    expect(run).toThrow(DatasetError);
    expect(run).toThrow(/^flat\.idx: normalize\.std must be > 0, got \[0\]: std\[0\] is 0/);
  });

  it('NaN, infinite or overflowing statistics never reach a batch', () => {
    const ds = syntheticDataset(2, 2, 2, 1);
    const first = (normalize: { mean: number[]; std: number[] }) => () => [
      ...batches(ds, { batchSize: 2, normalize }),
    ];
    expect(first({ mean: [Number.NaN], std: [1] })).toThrow(
      'synthetic: normalize.mean[0] is NaN, not a finite number',
    );
    expect(first({ mean: [0], std: [Number.POSITIVE_INFINITY] })).toThrow(/normalize.std\[0\] is Infinity/);
    expect(first({ mean: [0], std: [1e-40] })).toThrow(
      /channel 0 maps pixel \d+ to Infinity .* too small for float32/,
    );
  });
});

describe('options are checked in one place, with the valid range (class 6)', () => {
  const ds = syntheticDataset(3, 2, 2, 1);
  it.each([
    ['batchSize 0', () => [...batches(ds, { batchSize: 0 })], 'batchSize must be a positive integer, got 0'],
    [
      'batchSize 1.5',
      () => [...batches(ds, { batchSize: 1.5 })],
      'batchSize must be a positive integer, got 1.5',
    ],
    [
      'layout',
      () => [...batches(ds, { batchSize: 2, layout: 'NCWH' as 'NHWC' })],
      `layout must be one of 'NHWC', 'NCHW'`,
    ],
    [
      'epoch',
      () => [...batches(ds, { batchSize: 2, epoch: -1 })],
      'epoch must be a non-negative integer, got -1',
    ],
    [
      'augment.crop.padding',
      () => [...batches(ds, { batchSize: 2, augment: { crop: { padding: Number.NaN } } })],
      'augment.crop.padding must be a non-negative integer, got NaN',
    ],
  ])('%#: %s', (_, run, message) => {
    expect(run).toThrow(OptionError);
    expect(run).toThrow(message);
  });

  it.each([
    [
      'concurrency',
      () => loadImageFolder(dir, { size: 4, concurrency: 0 }),
      'concurrency must be an integer in [1, 1024], got 0',
    ],
    [
      'channels',
      () => loadImageFolder(dir, { size: 4, channels: 2 as 3 }),
      'channels must be one of 1, 3, got 2',
    ],
    [
      'background',
      () => loadImageFolder(dir, { size: 4, background: 300 }),
      'background must be an integer in [0, 255], got 300',
    ],
    [
      'maxBytes',
      () => loadImageFolder(dir, { size: 4, maxBytes: 0 }),
      'maxBytes must be an integer in [1, 4294967296], got 0',
    ],
    ['size', () => loadImageFolder(dir, { size: [4, 0] }), 'size must be positive integers up to 16384'],
    [
      'split',
      () => loadCifar10({ split: 'val' as 'test', dir }),
      `split must be one of 'train', 'test', got "val"`,
    ],
    ['rank', () => readIdx(join(dir, 'x'), { rank: 9 }), 'rank must be an integer in [1, 8], got 9'],
  ] as [string, () => Promise<unknown>, string][])('%#: %s', async (_, run, message) => {
    const r = await settle(run(), 1500);
    expect(r.error).toBeInstanceOf(OptionError);
    expect((r.error as Error).message).toContain(message);
  });
});
