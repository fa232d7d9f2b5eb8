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
    // Rec. 601/709 luma of pure red is about 54..76 of 255; any value there means a real grey conversion.
    expect(grey[0]).toBeGreaterThan(40);
    expect(grey[0]).toBeLessThan(90);
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
