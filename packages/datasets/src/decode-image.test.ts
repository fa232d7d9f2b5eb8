import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { DatasetError, decodeImageFile } from './index.js';

const dir = mkdtempSync(join(tmpdir(), 'lenet-decode-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('decodeImageFile', () => {
  it('resizes a colour PNG to grey at the requested size', async () => {
    const file = join(dir, 'red.png');
    await sharp({ create: { width: 40, height: 20, channels: 3, background: { r: 255, g: 0, b: 0 } } })
      .png()
      .toFile(file);
    const grey = await decodeImageFile(file, { size: [28, 28], channels: 1 });
    expect(grey.length).toBe(28 * 28);
    // libvips' b-w of pure red is 127 (neither black nor white): a real grey conversion, not a channel pick.
    expect(grey[0]).toBeGreaterThan(40);
    expect(grey[0]).toBeLessThan(200);
    expect(new Set(grey).size).toBe(1);
    const rgb = await decodeImageFile(file, { size: 8 });
    expect(rgb.length).toBe(8 * 8 * 3);
    expect([rgb[0], rgb[1], rgb[2]]).toEqual([255, 0, 0]);
  });

  it('names the file when it cannot be decoded', async () => {
    const file = join(dir, 'broken.png');
    writeFileSync(file, 'not an image');
    await expect(decodeImageFile(file, { size: 28 })).rejects.toThrow(DatasetError);
    await expect(decodeImageFile(file, { size: 28 })).rejects.toThrow(/broken\.png: cannot decode image/);
  });
});
