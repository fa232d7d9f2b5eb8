import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { mutations, settle } from '@lenet/testing';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCifar10 } from './cifar.js';
import { DatasetError } from './errors.js';
import { loadImageFolder } from './folder.js';
import { readIdx } from './idx.js';
import { loadMnist } from './mnist.js';
import { idxBytes, tempDir } from './testing/fixtures.js';

/**
 * Property-style tests over the loaders: seeded random truncations and byte flips of real files
 * (MNIST's own IDX files, CIFAR records and PNG/JPEG images made from real MNIST digits). Every
 * case must load or throw a DatasetError naming the file; never another error, never a hang.
 */

const CASES = 200;
const PER_CASE_MS = 3000;

let dir: string;
let cleanup: () => Promise<void>;
let images: Uint8Array;
let labels: Uint8Array;
beforeAll(async () => {
  ({ dir, cleanup } = await tempDir());
  const mnist = await loadMnist({ split: 'test' });
  images = mnist.images.subarray(0, 100 * 784);
  labels = mnist.labels.subarray(0, 100) as Uint8Array;
});
afterAll(() => cleanup());

/** Runs `load` on each mutation written to `path`, checking what it settles to. */
async function fuzz(
  original: Uint8Array,
  seed: number,
  headBytes: number,
  path: string,
  load: () => Promise<unknown>,
): Promise<{ loaded: number; refused: number }> {
  let loaded = 0;
  let refused = 0;
  for (const m of mutations(original, CASES, seed, headBytes)) {
    await writeFile(path, m.bytes);
    const r = await settle(load(), PER_CASE_MS);
    const label = `${path} ${m.what}`;
    expect(r.hang, `hang: ${label}`).toBeUndefined();
    if (r.error === undefined) {
      loaded++;
      continue;
    }
    expect(r.error, `${label}: ${String(r.error)}`).toBeInstanceOf(DatasetError);
    expect((r.error as DatasetError).message, label).toContain(path);
    refused++;
  }
  return { loaded, refused };
}

describe('hostile files: truncations and byte flips', () => {
  it('IDX images and labels, plain and gzip', async () => {
    const imageFile = idxBytes([100, 28, 28], images);
    const labelFile = idxBytes([100], labels);
    const cases: [string, Uint8Array, number][] = [
      ['images-idx3-ubyte', imageFile, 1],
      ['labels-idx1-ubyte', labelFile, 2],
      ['images-idx3-ubyte.gz', gzipSync(imageFile), 3],
      ['labels-idx1-ubyte.gz', gzipSync(labelFile), 4],
    ];
    for (const [name, bytes, seed] of cases) {
      const path = join(dir, name);
      const { refused } = await fuzz(bytes, seed, 16, path, () => readIdx(path));
      expect(refused).toBeGreaterThan(CASES / 3);
    }
  });

  it('MNIST loaded through loadMnist (image/label pairs that disagree)', async () => {
    const mnistDir = join(dir, 'mnist');
    await mkdir(mnistDir);
    await writeFile(join(mnistDir, 't10k-images-idx3-ubyte'), idxBytes([100, 28, 28], images));
    const path = join(mnistDir, 't10k-labels-idx1-ubyte');
    await fuzz(idxBytes([100], labels), 5, 16, path, () => loadMnist({ split: 'test', dir: mnistDir }));
  });

  it('CIFAR-10 batches', async () => {
    const cifarDir = join(dir, 'cifar');
    await mkdir(cifarDir);
    const records = new Uint8Array(20 * 3073);
    for (let r = 0; r < 20; r++) {
      records[r * 3073] = labels[r];
      for (let k = 0; k < 3; k++) {
        for (let p = 0; p < 784; p++) records[r * 3073 + 1 + k * 1024 + p] = images[r * 784 + p];
      }
    }
    const path = join(cifarDir, 'test_batch.bin');
    const { refused } = await fuzz(records, 6, 3073 * 3, path, () =>
      loadCifar10({ split: 'test', dir: cifarDir }),
    );
    expect(refused).toBeGreaterThan(CASES / 3);
  });

  it('PNG and JPEG files of an image folder', async () => {
    const digit = (i: number) =>
      sharp(Buffer.from(images.subarray(i * 784, (i + 1) * 784)), {
        raw: { width: 28, height: 28, channels: 1 },
      });
    const formats: [string, Buffer, number][] = [
      ['png', await digit(0).png().toBuffer(), 7],
      ['jpg', await digit(1).jpeg({ quality: 90 }).toBuffer(), 8],
    ];
    for (const [ext, bytes, seed] of formats) {
      const root = join(dir, `folder-${ext}`);
      await rm(root, { recursive: true, force: true });
      await mkdir(join(root, 'seven'), { recursive: true });
      const path = join(root, 'seven', `digit.${ext}`);
      const { refused } = await fuzz(new Uint8Array(bytes), seed, 64, path, () =>
        loadImageFolder(root, { size: 28, channels: 1 }),
      );
      expect(refused).toBeGreaterThan(CASES / 4);
    }
  });
});
