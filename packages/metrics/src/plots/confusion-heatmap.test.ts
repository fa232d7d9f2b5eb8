import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { ConfusionMatrix } from '../confusion-matrix.js';
import { confusionHeatmap } from './confusion-heatmap.js';
import { svgSize } from './render.js';
import { countMarkItems } from './svg-marks.js';

const names = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];

function fixture(): ConfusionMatrix {
  const cm = new ConfusionMatrix(10);
  const target: number[] = [];
  const pred: number[] = [];
  for (let i = 0; i < 500; i++) {
    const t = i % 10;
    target.push(t);
    pred.push(i % 17 === 0 ? (t + 1) % 10 : t); // a few off-by-one mistakes
  }
  cm.updateLabels(pred, target);
  return cm;
}

describe('confusionHeatmap', () => {
  it('draws classes² cells, writes the non-zero counts, labels axes with class names', async () => {
    const cm = fixture();
    const nonZero = Array.from(cm.compute().matrix).filter((v) => v > 0).length;
    const plot = confusionHeatmap(cm, names, { normalize: 'true' });
    const svg = await plot.svg();
    expect(svgSize(svg)).toEqual({ width: 560, height: 500 });
    expect(countMarkItems(svg, 'cells_marks')).toBe(100);
    expect(countMarkItems(svg, 'counts_marks')).toBe(nonZero);
    expect(nonZero).toBe(20);
    for (const name of names) expect(svg.includes(`>${name}</text>`)).toBe(true);
    expect(svg.includes('share of row')).toBe(true);
    const meta = await sharp(await plot.png(1.5)).metadata();
    expect([meta.width, meta.height]).toEqual([840, 750]);
  });

  it('accepts a raw result, default names and a custom size', async () => {
    const plot = confusionHeatmap({ matrix: new Int32Array([5, 1, 0, 7]), classes: 2 }, undefined, {
      width: 300,
      height: 260,
    });
    const svg = await plot.svg();
    expect(svgSize(svg)).toEqual({ width: 300, height: 260 });
    expect(countMarkItems(svg, 'cells_marks')).toBe(4);
    expect(countMarkItems(svg, 'counts_marks')).toBe(3);
  });

  it('rejects mismatched names and matrices', () => {
    expect(() => confusionHeatmap(new ConfusionMatrix(3), ['a', 'b'])).toThrow(
      'confusionHeatmap: 2 class names for 3 classes',
    );
    expect(() => confusionHeatmap(new ConfusionMatrix(2), ['a', 'a'])).toThrow('class names must be unique');
    expect(() => confusionHeatmap({ matrix: new Int32Array(3), classes: 2 })).toThrow(
      'confusionHeatmap: matrix has 3 cells, expected 2×2',
    );
  });
});
