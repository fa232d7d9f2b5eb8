import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { mistakesFirst } from './mistakes-first.js';
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

  it('puts the most confident mistakes first, framed in red and labelled with their probability', async () => {
    // 20 samples; wrong: 3 (p 0.60), 7 (p 0.95), 12 (p 0.80), 18 (p 0.95: a tie with 7, kept in data order).
    const truth = Array.from({ length: 20 }, (_, i) => i % 10);
    const pred = truth.map((t, i) => ([3, 7, 12, 18].includes(i) ? (t + 1) % 10 : t));
    const confidence = truth.map((_, i) => ({ 3: 0.6, 7: 0.95, 12: 0.8, 18: 0.95 })[i] ?? 0.999);
    const picked = mistakesFirst(truth, pred, confidence, { count: 8 });
    expect(picked).toEqual({ indices: [7, 18, 12, 3, 0, 1, 2, 4], shownWrong: 4, wrong: 4 });

    const all = images(20);
    const shown = new Uint8Array(8 * 784);
    for (const [i, j] of picked.indices.entries()) shown.set(all.subarray(j * 784, (j + 1) * 784), i * 784);
    const plot = await sampleGrid(
      shown,
      { height: 28, width: 28, channels: 1 },
      picked.indices.map((j) => truth[j]),
      picked.indices.map((j) => pred[j]),
      undefined,
      { columns: 4, probabilities: picked.indices.map((j) => confidence[j]) },
    );
    const svg = await plot.svg();
    expect(countMarkItems(svg, 'frames_marks')).toBe(4);
    const texts = [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]).slice(1);
    expect(texts).toEqual([
      '7 → 8 95%',
      '8 → 9 95%',
      '2 → 3 80%',
      '3 → 4 60%',
      '0 99%',
      '1 99%',
      '2 99%',
      '4 99%',
    ]);

    const { data, info } = await sharp(await plot.png())
      .raw()
      .toBuffer({ resolveWithObject: true });
    const at = (x: number, y: number) =>
      Array.from(
        data.subarray((y * info.width + x) * info.channels, (y * info.width + x) * info.channels + 3),
      );
    // Label '7 → 8 95%' (9 characters × 7 px) makes each slot 63 px wide, cells 73 px apart.
    const slot = 63;
    const frameLeft = (column: number) => Math.round(8 + column * (slot + 10) + (slot - 56) / 2 - 2);
    const rowTop = (row: number) => 30 + row * 84;
    // Row 0 holds the four mistakes, every one framed; row 1 the correct ones, none framed.
    for (let c = 0; c < 4; c++) {
      expect(at(frameLeft(c), rowTop(0) + 28), `column ${c}`).toEqual([214, 39, 40]);
      expect(at(frameLeft(c), rowTop(1) + 28), `column ${c}`).toEqual([255, 255, 255]);
    }
  });

  it('fills the grid with mistakes only when there are too few correct predictions, and keeps a row for correct ones otherwise', () => {
    const truth = Array.from({ length: 40 }, () => 0);
    const wrong40 = mistakesFirst(
      truth,
      truth.map(() => 1),
      truth.map(() => 0.5),
    );
    expect(wrong40).toMatchObject({ shownWrong: 32, wrong: 40 });
    expect(wrong40.indices).toHaveLength(32);
    const pred = truth.map((_, i) => (i < 36 ? 1 : 0));
    const mostlyWrong = mistakesFirst(
      truth,
      pred,
      truth.map(() => 0.5),
    );
    expect(mostlyWrong).toMatchObject({ shownWrong: 28, wrong: 36 });
    expect(mostlyWrong.indices.slice(28)).toEqual([36, 37, 38, 39]);
    const fewWrong = mistakesFirst(
      truth.slice(0, 12),
      pred.slice(0, 12).map((_, i) => (i < 9 ? 1 : 0)),
      truth.slice(0, 12).map(() => 0.5),
      { count: 10, maxWrong: 2 },
    );
    expect(fewWrong).toEqual({ indices: [0, 1, 2, 3, 4, 5, 6, 9, 10, 11], shownWrong: 7, wrong: 9 });
    expect(() => mistakesFirst([0, 1], [0], [1, 1])).toThrow(/length mismatch/);
    expect(() => mistakesFirst([0, 1], [0, 1], [1])).toThrow(/1 confidences but 2 samples/);
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
