import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { svgSize } from './render.js';
import { sampleGrid } from './sample-grid.js';
import { countMarkItems } from './svg-marks.js';

/** n synthetic 28×28 grey images: a bright square whose position depends on the index. */
function images(n: number, channels = 1): Uint8Array {
  const out = new Uint8Array(n * 28 * 28 * channels);
  for (let i = 0; i < n; i++) {
    for (let y = 4; y < 14; y++) {
      for (let x = 4 + (i % 10); x < 14 + (i % 10); x++) {
        for (let c = 0; c < channels; c++) out[((i * 28 + y) * 28 + x) * channels + c] = 255;
      }
    }
  }
  return out;
}

const trueLabels = new Uint8Array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
const predLabels = new Int32Array([0, 1, 2, 5, 4, 5, 6, 1, 8, 4]); // wrong: 3→5, 7→1, 9→4

describe('sampleGrid', () => {
  it('shows every image with its label and frames the wrong ones in red', async () => {
    const plot = await sampleGrid(
      images(10),
      { height: 28, width: 28, channels: 1 },
      trueLabels,
      predLabels,
      undefined,
      {
        columns: 5,
      },
    );
    const svg = await plot.svg();
    // 5 columns of 56 px images + 10 px gaps + 8 px margins; 2 rows of 56 + 18 label + 10 gap, 30 px header.
    expect([plot.width, plot.height]).toEqual([2 * 8 + 5 * 66 - 10, 30 + 2 * 84 - 10 + 8]);
    expect(svgSize(svg)).toEqual({ width: plot.width, height: plot.height });
    expect(countMarkItems(svg, 'images_marks')).toBe(10);
    expect(countMarkItems(svg, 'frames_marks')).toBe(3);
    expect(countMarkItems(svg, 'labels_marks')).toBe(10);
    expect(svg.includes('>3 → 5</text>')).toBe(true);
    expect(svg.includes('Predictions: 3 of 10 wrong')).toBe(true);
    expect(svg.match(/href="data:image\/png;base64,/g)).toHaveLength(10);

    const { data, info } = await sharp(await plot.png())
      .raw()
      .toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([plot.width, plot.height]);
    const at = (x: number, y: number) =>
      Array.from(
        data.subarray((y * info.width + x) * info.channels, (y * info.width + x) * info.channels + 3),
      );
    // Sample 3 (wrong) sits in column 3 of row 0: its frame's left edge is 2 px left of the image.
    const left3 = 8 + 3 * 66;
    expect(at(left3 - 2, 30 + 28)).toEqual([214, 39, 40]);
    // Sample 2 (right) has no frame there, only white background.
    expect(at(8 + 2 * 66 - 2, 30 + 28)).toEqual([255, 255, 255]);
    // The embedded image is drawn: inside the bright square of sample 0 (pixels 4..13, ×2) and outside it.
    expect(at(8 + 18, 30 + 18)).toEqual([255, 255, 255]);
    expect(at(8 + 40, 30 + 40)).toEqual([0, 0, 0]);
  });

  it('takes RGB images and class names, and scales the PNG', async () => {
    const plot = await sampleGrid(
      images(3, 3),
      { height: 28, width: 28, channels: 3 },
      [0, 1, 2],
      [0, 2, 2],
      ['cat', 'dog', 'ship'],
      {
        imageSize: 64,
      },
    );
    const svg = await plot.svg();
    expect(countMarkItems(svg, 'images_marks')).toBe(3);
    expect(svg.includes('>dog → ship</text>')).toBe(true);
    const meta = await sharp(await plot.png(2)).metadata();
    expect([meta.width, meta.height]).toEqual([2 * plot.width, 2 * plot.height]);
  });

  it('rejects shape, length and label errors clearly', async () => {
    const shape = { height: 28, width: 28, channels: 1 };
    await expect(sampleGrid(images(2), shape, [0, 1], [0])).rejects.toThrow(
      'sampleGrid: length mismatch: 1 predicted labels but 2 true labels',
    );
    await expect(sampleGrid(images(2), shape, [0, 1, 2], [0, 1, 2])).rejects.toThrow(
      /images has 1568 bytes but 3 labels × 28×28×1 = 2352 were expected/,
    );
    await expect(sampleGrid(images(2), { ...shape, channels: 2 }, [0, 1], [0, 1])).rejects.toThrow(
      'sampleGrid: channels must be 1, 3 or 4, got 2',
    );
    await expect(sampleGrid(images(2), shape, [0, 1], [0, 3], ['a', 'b'])).rejects.toThrow(
      /predLabels\[1\] = 3 is out of range/,
    );
  });
});
