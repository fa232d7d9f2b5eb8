import { mkdir, readdir, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { staleTempEntries } from '@lenet/common';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatasetError } from './errors.js';
import { imageFolderClasses, loadImageFolder } from './folder.js';
import { tempDir } from './testing/fixtures.js';

type Rgb = [number, number, number];

function solid(width: number, height: number, [r, g, b]: Rgb): sharp.Sharp {
  return sharp({ create: { width, height, channels: 3, background: { r, g, b } } });
}

async function png(path: string, width: number, height: number, rgb: Rgb): Promise<void> {
  await solid(width, height, rgb).png().toFile(path);
}

async function jpeg(path: string, width: number, height: number, rgb: Rgb): Promise<void> {
  await solid(width, height, rgb).jpeg({ quality: 95 }).toFile(path);
}

let tmp: string;
let cleanup: () => Promise<void>;
let root: string;

beforeAll(async () => {
  ({ dir: tmp, cleanup } = await tempDir());
  root = join(tmp, 'pets');
  await mkdir(join(root, 'dog'), { recursive: true });
  await mkdir(join(root, 'cat', 'nested'), { recursive: true });
  await mkdir(join(root, 'empty'), { recursive: true });
  await mkdir(join(root, '.hidden'), { recursive: true });
  await png(join(root, 'cat', 'a.png'), 8, 6, [255, 0, 0]);
  await jpeg(join(root, 'cat', 'b.JPG'), 10, 10, [0, 0, 255]);
  await png(join(root, 'cat', 'nested', 'c.png'), 3, 3, [0, 255, 0]);
  await png(join(root, 'dog', 'x.png'), 5, 7, [128, 128, 128]);
  await writeFile(join(root, 'dog', 'notes.txt'), 'not an image');
  await writeFile(join(root, 'empty', 'readme.md'), 'nothing here');
  await png(join(root, '.hidden', 'h.png'), 4, 4, [1, 2, 3]);
});
afterAll(() => cleanup());

function pixel(
  ds: { images: Uint8Array; height: number; width: number; channels: number },
  i: number,
  y = 0,
  x = 0,
) {
  const o = ((i * ds.height + y) * ds.width + x) * ds.channels;
  return Array.from(ds.images.subarray(o, o + ds.channels));
}

describe('loadImageFolder', () => {
  it('loads root/<class>/** with sorted classes, resized to one size, RGB', async () => {
    const ds = await loadImageFolder(root, { size: [4, 5] });
    expect(ds.classNames).toEqual(['cat', 'dog', 'empty']);
    expect(ds.emptyClasses).toEqual(['empty']);
    expect(ds.count).toBe(4);
    expect([ds.height, ds.width, ds.channels]).toEqual([4, 5, 3]);
    expect(ds.images.length).toBe(4 * 4 * 5 * 3);
    expect(ds.files.map((f) => f.slice(root.length + 1))).toEqual([
      'cat/a.png',
      'cat/b.JPG',
      'cat/nested/c.png',
      'dog/x.png',
    ]);
    expect(Array.from(ds.labels)).toEqual([0, 0, 0, 1]);
    expect(ds.labels).toBeInstanceOf(Uint8Array);
    expect(pixel(ds, 0, 3, 4)).toEqual([255, 0, 0]);
    const blue = pixel(ds, 1, 2, 2);
    expect(blue[0]).toBeLessThan(8);
    expect(blue[1]).toBeLessThan(8);
    expect(blue[2]).toBeGreaterThan(245);
    expect(pixel(ds, 2)).toEqual([0, 255, 0]);
    expect(pixel(ds, 3)).toEqual([128, 128, 128]);
    expect(ds.skipped).toEqual([]);
    expect(ds.fromCache).toBe(false);
    expect(ds.source).toBe(root);
  });

  it('converts to one channel and honours an explicit class list', async () => {
    const ds = await loadImageFolder(root, { size: 3, channels: 1, classes: ['dog', 'cat'] });
    expect(ds.classNames).toEqual(['dog', 'cat']);
    expect(ds.channels).toBe(1);
    expect(ds.images.length).toBe(4 * 9);
    // Samples come in class order, as in torchvision's ImageFolder.
    expect(Array.from(ds.labels)).toEqual([0, 1, 1, 1]);
    expect(ds.files[0]).toBe(join(root, 'dog', 'x.png'));
    expect(pixel(ds, 0)).toEqual([128]); // grey stays grey
    expect(ds.emptyClasses).toEqual([]);
    await expect(loadImageFolder(root, { size: 3, classes: ['cat', 'bird'] })).rejects.toThrow(
      `${join(root, 'bird')}: missing: class 'bird' from classes has no folder`,
    );
  });

  it('decodes 16-bit grey, RGBA, GIF and WebP inputs to 8-bit RGB', async () => {
    const dir = join(tmp, 'formats');
    await mkdir(join(dir, 'x'), { recursive: true });
    await sharp(new Uint16Array(16).fill(100 * 257), { raw: { width: 4, height: 4, channels: 1 } })
      .toColourspace('grey16')
      .png()
      .toFile(join(dir, 'x', 'a-grey16.png'));
    await sharp({
      create: { width: 4, height: 4, channels: 4, background: { r: 10, g: 20, b: 30, alpha: 0.5 } },
    })
      .png()
      .toFile(join(dir, 'x', 'b-rgba.png'));
    await solid(4, 4, [0, 0, 0])
      .gif()
      .toFile(join(dir, 'x', 'c.gif'));
    await solid(4, 4, [250, 250, 250])
      .webp({ lossless: true })
      .toFile(join(dir, 'x', 'd.webp'));
    const ds = await loadImageFolder(dir, { size: 2 });
    expect(ds.count).toBe(4);
    expect(pixel(ds, 0)).toEqual([100, 100, 100]);
    // Alpha is dropped (not composited); sharp's premultiplied resize may round semi-transparent pixels by 1.
    for (const [c, v] of pixel(ds, 1).entries()) expect(Math.abs(v - [10, 20, 30][c])).toBeLessThanOrEqual(1);
    expect(pixel(ds, 2)).toEqual([0, 0, 0]);
    expect(pixel(ds, 3)).toEqual([250, 250, 250]);
  });

  it('letterboxes with fit contain and crops with fit cover', async () => {
    const dir = join(tmp, 'wide');
    await mkdir(join(dir, 'only'), { recursive: true });
    await png(join(dir, 'only', 'w.png'), 20, 10, [255, 255, 255]);
    const contain = await loadImageFolder(dir, { size: 10, channels: 1, fit: 'contain', kernel: 'nearest' });
    expect(pixel(contain, 0, 0, 5)).toEqual([0]); // black bar on top
    expect(pixel(contain, 0, 5, 5)).toEqual([255]);
    const cover = await loadImageFolder(dir, { size: 10, channels: 1, fit: 'cover' });
    expect(pixel(cover, 0, 0, 5)).toEqual([255]);
  });

  it('gives the same result at concurrency 1 and 3', async () => {
    const a = await loadImageFolder(root, { size: 6, concurrency: 1 });
    const b = await loadImageFolder(root, { size: 6, concurrency: 3 });
    expect(Buffer.from(a.images).equals(Buffer.from(b.images))).toBe(true);
    expect(Array.from(a.labels)).toEqual(Array.from(b.labels));
  });

  it('errors on an image sharp cannot decode, or skips it and says why', async () => {
    const dir = join(tmp, 'corrupt');
    await mkdir(join(dir, 'a'), { recursive: true });
    await mkdir(join(dir, 'b'), { recursive: true });
    await png(join(dir, 'a', 'good.png'), 4, 4, [9, 9, 9]);
    await writeFile(join(dir, 'a', 'garbage.png'), 'definitely not a PNG');
    const full = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#808080' } })
      .jpeg()
      .toBuffer();
    await writeFile(join(dir, 'b', 'truncated.jpg'), full.subarray(0, Math.floor(full.length / 2)));
    const error = await loadImageFolder(dir, { size: 4, concurrency: 1 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DatasetError);
    expect((error as DatasetError).file).toBe(join(dir, 'a', 'garbage.png'));
    expect((error as DatasetError).message).toMatch(/garbage\.png: cannot be decoded by sharp: /);
    const ds = await loadImageFolder(dir, { size: 4, onError: 'skip' });
    expect(ds.count).toBe(1);
    expect(ds.files).toEqual([join(dir, 'a', 'good.png')]);
    expect(ds.skipped.map((s) => s.file)).toEqual([
      join(dir, 'a', 'garbage.png'),
      join(dir, 'b', 'truncated.jpg'),
    ]);
    expect(ds.skipped.every((s) => s.reason.startsWith('cannot be decoded by sharp: '))).toBe(true);
    expect(ds.emptyClasses).toEqual(['b']);
    expect(pixel(ds, 0)).toEqual([9, 9, 9]);
  });

  it('refuses symlinks that lead outside the root, follows those inside', async () => {
    const dir = join(tmp, 'links');
    await mkdir(join(dir, 'a'), { recursive: true });
    await png(join(tmp, 'outside.png'), 4, 4, [1, 1, 1]);
    await png(join(dir, 'a', 'real.png'), 4, 4, [2, 2, 2]);
    await symlink(join(tmp, 'outside.png'), join(dir, 'a', 'escape.png'));
    await symlink(join(dir, 'a', 'real.png'), join(dir, 'a', 'z-inside.png'));
    await symlink(tmp, join(dir, 'outside-class'));
    await symlink(join(tmp, 'gone.png'), join(dir, 'a', 'broken.png'));
    const error = await loadImageFolder(dir, { size: 2 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DatasetError);
    expect((error as DatasetError).message).toMatch(/symlink leads outside the root folder/);
    const ds = await loadImageFolder(dir, { size: 2, onError: 'skip' });
    expect(ds.classNames).toEqual(['a']);
    expect(ds.files).toEqual([join(dir, 'a', 'real.png'), join(dir, 'a', 'z-inside.png')]);
    expect(ds.skipped.map((s) => s.file)).toEqual([
      join(dir, 'a', 'broken.png'),
      join(dir, 'a', 'escape.png'),
      join(dir, 'outside-class'),
    ]);
    expect(ds.skipped[0].reason).toBe('broken symlink: its target does not exist');
    expect(ds.skipped[1].reason).toContain(
      `symlink leads outside the root folder (to ${join(tmp, 'outside.png')})`,
    );
  });

  it('reports a folder with no classes, a missing root and a folder with no images', async () => {
    const empty = join(tmp, 'no-classes');
    await mkdir(empty);
    await writeFile(join(empty, 'stray.png'), 'x');
    await expect(loadImageFolder(empty, { size: 4 })).rejects.toThrow(
      `${empty}: no classes: the folder has no class sub-folders`,
    );
    const missing = join(tmp, 'does-not-exist');
    await expect(loadImageFolder(missing, { size: 4 })).rejects.toThrow(
      `${missing}: missing: no such folder`,
    );
    const noImages = join(tmp, 'no-images');
    await mkdir(join(noImages, 'a'), { recursive: true });
    await expect(loadImageFolder(noImages, { size: 4 })).rejects.toThrow(
      `${noImages}: no images: none of the 1 class folders`,
    );
    await expect(loadImageFolder(root, { size: 0 })).rejects.toThrow(/size must be positive integers/);
  });

  it('caches the decoded set on disk and re-decodes when a file changes', async () => {
    const dir = join(tmp, 'cached');
    const cacheDir = join(tmp, 'cache');
    await mkdir(join(dir, 'a'), { recursive: true });
    await mkdir(join(dir, 'b'), { recursive: true });
    await png(join(dir, 'a', '1.png'), 6, 6, [10, 20, 30]);
    await png(join(dir, 'b', '2.png'), 6, 6, [40, 50, 60]);
    const first = await loadImageFolder(dir, { size: 3, cacheDir });
    expect(first.fromCache).toBe(false);
    const files = await readdir(cacheDir);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^folder-[0-9a-f]{20}\.lenetds$/);
    const second = await loadImageFolder(dir, { size: 3, cacheDir });
    expect(second.fromCache).toBe(true);
    expect(Buffer.from(second.images).equals(Buffer.from(first.images))).toBe(true);
    expect(Array.from(second.labels)).toEqual([0, 1]);
    expect(second.files).toEqual(first.files);
    expect(second.classNames).toEqual(['a', 'b']);
    // Different decode options are a different cache entry.
    expect((await loadImageFolder(dir, { size: 3, channels: 1, cacheDir })).fromCache).toBe(false);
    // A changed mtime (same content) makes the key stale.
    await utimes(join(dir, 'a', '1.png'), new Date(2001, 1, 1), new Date(2001, 1, 1));
    const third = await loadImageFolder(dir, { size: 3, cacheDir });
    expect(third.fromCache).toBe(false);
    // A changed file is decoded again, not served stale.
    await png(join(dir, 'b', '2.png'), 6, 6, [200, 201, 202]);
    const fourth = await loadImageFolder(dir, { size: 3, cacheDir });
    expect(fourth.fromCache).toBe(false);
    expect(pixel(fourth, 1)).toEqual([200, 201, 202]);
    expect((await loadImageFolder(dir, { size: 3, cacheDir })).fromCache).toBe(true);
    // A new file joins the key too.
    await png(join(dir, 'b', '3.png'), 6, 6, [1, 2, 3]);
    const fifth = await loadImageFolder(dir, { size: 3, cacheDir });
    expect(fifth.fromCache).toBe(false);
    expect(fifth.count).toBe(3);
    expect(await staleTempEntries(cacheDir)).toEqual([]);
  });

  it('ignores a corrupt cache file and rewrites it', async () => {
    const dir = join(tmp, 'cached2');
    const cacheDir = join(tmp, 'cache2');
    await mkdir(join(dir, 'a'), { recursive: true });
    await png(join(dir, 'a', '1.png'), 6, 6, [10, 20, 30]);
    await loadImageFolder(dir, { size: 3, cacheDir });
    const [name] = await readdir(cacheDir);
    await writeFile(join(cacheDir, name), 'garbage');
    const again = await loadImageFolder(dir, { size: 3, cacheDir });
    expect(again.fromCache).toBe(false);
    expect(pixel(again, 0)).toEqual([10, 20, 30]);
    expect((await loadImageFolder(dir, { size: 3, cacheDir })).fromCache).toBe(true);
  });
});

describe('loadImageFolder: train/test split', () => {
  let flat: string;
  let presplit: string;
  beforeAll(async () => {
    flat = join(tmp, 'flat');
    for (const [c, n] of [
      ['a', 10],
      ['b', 5],
    ] as const) {
      await mkdir(join(flat, c), { recursive: true });
      for (let i = 0; i < n; i++) await png(join(flat, c, `${i}.png`), 2, 2, [c === 'a' ? i : 100 + i, 0, 0]);
    }
    presplit = join(tmp, 'presplit');
    for (const [part, c, v] of [
      ['train', 'x', 1],
      ['train', 'y', 2],
      ['test', 'y', 3],
      ['test', 'x', 4],
      ['test', 'x', 5],
    ] as const) {
      await mkdir(join(presplit, part, c), { recursive: true });
      await png(join(presplit, part, c, `${v}.png`), 2, 2, [v, v, v]);
    }
  });

  it('holds out a seeded, stratified test part that the training part never contains', async () => {
    const all = await loadImageFolder(flat, { size: 2 });
    const train = await loadImageFolder(flat, { size: 2, split: { part: 'train' } });
    const test = await loadImageFolder(flat, { size: 2, split: { part: 'test' } });
    expect([train.count, test.count]).toEqual([12, 3]);
    expect(Array.from(test.labels).sort()).toEqual([0, 0, 1]);
    expect(new Set([...train.files, ...test.files]).size).toBe(all.count);
    expect(train.files.filter((f) => test.files.includes(f))).toEqual([]);
    // Pixels and labels stay with their files.
    for (const ds of [train, test]) {
      for (const [i, f] of ds.files.entries()) {
        const j = all.files.indexOf(f);
        expect(ds.labels[i]).toBe(all.labels[j]);
        expect(pixel(ds, i)).toEqual(pixel(all, j));
      }
    }
    expect(test.source).toBe(`${flat} (test part: 20%, seed 0)`);
    const again = await loadImageFolder(flat, { size: 2, split: { part: 'test' } });
    expect(again.files).toEqual(test.files);
    const other = await loadImageFolder(flat, { size: 2, split: { part: 'test', seed: 1 } });
    expect(other.files).not.toEqual(test.files);
    const half = await loadImageFolder(flat, { size: 2, split: { part: 'test', testFraction: 0.4 } });
    expect(half.count).toBe(6);
  });

  it('uses train/ and test/ sub-folders as the parts, with the classes of train/', async () => {
    const train = await loadImageFolder(presplit, { size: 2, channels: 1, split: { part: 'train' } });
    const test = await loadImageFolder(presplit, { size: 2, channels: 1, split: { part: 'test' } });
    expect(train.classNames).toEqual(['x', 'y']);
    expect(test.classNames).toEqual(['x', 'y']);
    expect(Array.from(train.images.filter((_, i) => i % 4 === 0))).toEqual([1, 2]);
    expect(Array.from(test.labels)).toEqual([0, 0, 1]);
    expect(Array.from(test.images.filter((_, i) => i % 4 === 0))).toEqual([4, 5, 3]);
  });

  it('lists the classes the loader finds without decoding: those of train/ in a split folder', async () => {
    expect(await imageFolderClasses(root)).toEqual(['cat', 'dog', 'empty']);
    expect(await imageFolderClasses(flat)).toEqual(['a', 'b']);
    expect(await imageFolderClasses(presplit)).toEqual(['x', 'y']);
    await expect(imageFolderClasses(join(tmp, 'nowhere'))).rejects.toThrow(
      /nowhere.*missing: no such folder/,
    );
  });

  it('names the folder when it is too small to hold out a test part, and checks the options', async () => {
    const tiny = join(tmp, 'tiny-split');
    await mkdir(join(tiny, 'a'), { recursive: true });
    await png(join(tiny, 'a', '0.png'), 2, 2, [0, 0, 0]);
    await expect(loadImageFolder(tiny, { size: 2, split: { part: 'test' } })).rejects.toThrow(
      new RegExp(
        `^${tiny}: cannot hold out 20% of 1 images as the test part .*train/ and test/ sub-folders$`,
      ),
    );
    await expect(
      loadImageFolder(flat, { size: 2, split: { part: 'test', testFraction: 1 } }),
    ).rejects.toThrow(/split\.testFraction must be strictly between 0 and 1, got 1/);
  });
});
