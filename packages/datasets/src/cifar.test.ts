import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CIFAR10_CLASSES, loadCifar10, loadCifar100 } from './cifar.js';
import { DatasetError } from './errors.js';
import { tempDir } from './testing/fixtures.js';

/** One CIFAR record: label byte(s), then R, G, B planes where pixel p of plane k is (seed + k*7 + p) % 256. */
function record(labels: number[], seed: number): Uint8Array {
  const out = new Uint8Array(labels.length + 3072);
  out.set(labels);
  for (let k = 0; k < 3; k++)
    for (let p = 0; p < 1024; p++) out[labels.length + k * 1024 + p] = (seed + k * 7 + p) % 256;
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

let root: string;
let cleanup: () => Promise<void>;
let c10: string;
let c100: string;
beforeAll(async () => {
  ({ dir: root, cleanup } = await tempDir());
  c10 = join(root, 'cifar-10-batches-bin');
  c100 = join(root, 'cifar-100-binary');
  await mkdir(c10);
  await mkdir(c100);
  // Five training batches of 2 records each (labels 0..9), one test batch of 3.
  for (let b = 1; b <= 5; b++) {
    const recs = [record([2 * (b - 1)], b * 10), record([2 * (b - 1) + 1], b * 10 + 1)];
    await writeFile(join(c10, `data_batch_${b}.bin`), concat(recs));
  }
  await writeFile(
    join(c10, 'test_batch.bin'),
    concat([record([3], 100), record([8], 101), record([8], 102)]),
  );
  await writeFile(join(c100, 'train.bin'), concat([record([19, 99], 5), record([0, 0], 6)]));
  await writeFile(join(c100, 'test.bin'), concat([record([4, 42], 7)]));
  await writeFile(
    join(c100, 'coarse_label_names.txt'),
    `${Array.from({ length: 20 }, (_, i) => `super${i}`).join('\n')}\n`,
  );
  await writeFile(
    join(c100, 'fine_label_names.txt'),
    `${Array.from({ length: 100 }, (_, i) => `fine${i}`).join('\n')}\n\n`,
  );
});
afterAll(() => cleanup());

describe('loadCifar10', () => {
  it('concatenates the five training batches and converts planar RGB to NHWC', async () => {
    const ds = await loadCifar10({ split: 'train', dir: c10 });
    expect(ds.count).toBe(10);
    expect([ds.height, ds.width, ds.channels]).toEqual([32, 32, 3]);
    expect(ds.images.length).toBe(10 * 3072);
    expect(Array.from(ds.labels)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(ds.classNames).toEqual([...CIFAR10_CLASSES]);
    // Sample 3 is the second record of batch 2 (seed 21); pixel p=5 in HWC is at 3*5.
    const base = 3 * 3072;
    expect([ds.images[base + 15], ds.images[base + 16], ds.images[base + 17]]).toEqual([26, 33, 40]);
    // Last pixel (p=1023) of the first sample, seed 10.
    expect(Array.from(ds.images.subarray(3069, 3072))).toEqual([
      (10 + 1023) % 256,
      (17 + 1023) % 256,
      (24 + 1023) % 256,
    ]);
  });

  it('reads class names from batches.meta.txt when present', async () => {
    const dir = join(root, 'c10-meta');
    await mkdir(dir);
    await writeFile(join(dir, 'test_batch.bin'), record([1], 0));
    await writeFile(join(dir, 'batches.meta.txt'), 'a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n\n');
    const ds = await loadCifar10({ split: 'test', dir });
    expect(ds.classNames).toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j']);
    expect(ds.count).toBe(1);
  });

  it('rejects a file that is not a whole number of records, naming it', async () => {
    const dir = join(root, 'c10-bad');
    await mkdir(dir);
    const file = join(dir, 'test_batch.bin');
    await writeFile(file, concat([record([1], 0), new Uint8Array(100)]));
    const error = await loadCifar10({ split: 'test', dir }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DatasetError);
    expect((error as DatasetError).file).toBe(file);
    expect((error as DatasetError).message).toContain(
      'wrong length for a CIFAR file: 3173 bytes is not a whole number of 3073-byte records',
    );
    await writeFile(file, new Uint8Array(0));
    await expect(loadCifar10({ split: 'test', dir })).rejects.toThrow(/0 bytes is not a whole number/);
  });

  it('names a missing batch file', async () => {
    const dir = join(root, 'c10-missing');
    await mkdir(dir);
    await writeFile(join(dir, 'data_batch_1.bin'), record([1], 0));
    await expect(loadCifar10({ split: 'train', dir })).rejects.toThrow(
      `${join(dir, 'data_batch_2.bin')}: missing: no such file`,
    );
  });

  it('rejects an out-of-range label, naming the file and record', async () => {
    const dir = join(root, 'c10-label');
    await mkdir(dir);
    for (let b = 1; b <= 5; b++) {
      const labels = b === 4 ? [1, 2, 10] : [1, 2, 3];
      await writeFile(join(dir, `data_batch_${b}.bin`), concat(labels.map((l) => record([l], 0))));
    }
    await expect(loadCifar10({ split: 'train', dir })).rejects.toThrow(
      `${join(dir, 'data_batch_4.bin')}: class label 10 of record 2 is out of range for 10 classes`,
    );
  });
});

describe('loadCifar100', () => {
  it('loads fine labels by default, keeping coarse ones and both name lists', async () => {
    const ds = await loadCifar100({ split: 'train', dir: c100 });
    expect(ds.count).toBe(2);
    expect(Array.from(ds.labels)).toEqual([99, 0]);
    expect(Array.from(ds.fineLabels)).toEqual([99, 0]);
    expect(Array.from(ds.coarseLabels)).toEqual([19, 0]);
    expect(ds.classNames).toHaveLength(100);
    expect(ds.classNames[99]).toBe('fine99');
    expect(ds.coarseClassNames[19]).toBe('super19');
    expect(Array.from(ds.images.subarray(0, 3))).toEqual([5, 12, 19]);
  });

  it('switches to coarse labels', async () => {
    const ds = await loadCifar100({ split: 'test', dir: c100, label: 'coarse' });
    expect(Array.from(ds.labels)).toEqual([4]);
    expect(ds.classNames[4]).toBe('super4');
    expect(ds.classNames).toHaveLength(20);
  });

  it('rejects a CIFAR-10-sized record file (wrong length for 3074-byte records)', async () => {
    const dir = join(root, 'c100-bad');
    await mkdir(dir);
    await writeFile(join(dir, 'test.bin'), concat([record([1], 0), record([2], 0)]));
    await expect(loadCifar100({ split: 'test', dir })).rejects.toThrow(
      `${join(dir, 'test.bin')}: wrong length for a CIFAR file: 6146 bytes is not a whole number of 3074-byte records`,
    );
  });

  it('numbers classes when the name files are absent and checks fine labels', async () => {
    const dir = join(root, 'c100-plain');
    await mkdir(dir);
    await writeFile(join(dir, 'test.bin'), record([3, 7], 0));
    const ds = await loadCifar100({ split: 'test', dir });
    expect(ds.classNames[7]).toBe('7');
    await writeFile(join(dir, 'test.bin'), record([3, 100], 0));
    await expect(loadCifar100({ split: 'test', dir })).rejects.toThrow(
      /fine label 100 of record 0 is out of range/,
    );
  });
});
