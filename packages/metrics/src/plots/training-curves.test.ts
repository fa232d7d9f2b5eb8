import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { svgSize } from './render.js';
import { countMarkItems } from './svg-marks.js';
import { trainingCurves } from './training-curves.js';

const epochs = 12;
const loss = Array.from({ length: epochs }, (_, i) => 2.3 * Math.exp(-i / 3) + 0.04);
const history = {
  epoch: Array.from({ length: epochs }, (_, i) => i + 1),
  loss,
  accuracy: loss.map((v) => 1 - v / 2.6),
  val_loss: loss.map((v, i) => v * 1.08 + 0.06 * Math.max(0, i - 6)), // overfits after epoch ~7
  val_accuracy: loss.map((v) => 0.98 - v / 2.5),
};

describe('trainingCurves', () => {
  it('draws one line per series, a best point per panel, at exactly the requested size', async () => {
    const plot = trainingCurves(history, { title: 'LeNet-5 on MNIST' });
    const svg = await plot.svg();
    expect([plot.width, plot.height]).toEqual([800, 320]);
    expect(svgSize(svg)).toEqual({ width: 800, height: 320 });
    expect(countMarkItems(svg, 'line_0_marks')).toBe(2); // loss: train + validation
    expect(countMarkItems(svg, 'line_1_marks')).toBe(2); // accuracy: train + validation
    expect(countMarkItems(svg, 'best_0_marks') + countMarkItems(svg, 'best_1_marks')).toBe(2);
    const bestLoss = Math.min(...history.val_loss);
    const bestEpoch = history.val_loss.indexOf(bestLoss) + 1;
    expect(bestEpoch).toBeGreaterThan(3);
    expect(bestEpoch).toBeLessThan(12);
    expect(svg.includes(`>best ${bestLoss.toPrecision(4)} (epoch ${bestEpoch})</text>`)).toBe(true);
    expect(svg.includes(`>best ${Math.max(...history.val_accuracy).toPrecision(4)} (epoch 12)</text>`)).toBe(
      true,
    );
    const png = await sharp(await plot.png(2)).metadata();
    expect([png.format, png.width, png.height]).toEqual(['png', 1600, 640]);
  });

  it('pairs camelCase validation keys, draws only the metrics asked for, and fits other sizes', async () => {
    const plot = trainingCurves(
      { loss: history.loss, valLoss: history.val_loss, accuracy: history.accuracy },
      { metrics: ['accuracy', 'loss'], width: 500, height: 420, columns: 1 },
    );
    const svg = await plot.svg();
    expect(svgSize(svg)).toEqual({ width: 500, height: 420 });
    expect(countMarkItems(svg, 'line_0_marks')).toBe(1); // accuracy: train only
    expect(countMarkItems(svg, 'line_1_marks')).toBe(2); // loss: train + valLoss
    const meta = await sharp(await plot.png()).metadata();
    expect([meta.width, meta.height]).toEqual([500, 420]);
  });

  it('draws a per-step series over fractional epochs without a best mark when asked', async () => {
    const steps = 30;
    const plot = trainingCurves(
      {
        epoch: Array.from({ length: steps }, (_, i) => (i + 1) / 10),
        lr: Array.from({ length: steps }, (_, i) => 1e-3 * Math.sin((Math.PI * (i + 1)) / (steps + 1))),
      },
      { markBest: false, height: 240 },
    );
    const svg = await plot.svg();
    expect(countMarkItems(svg, 'line_0_marks')).toBe(1);
    expect(countMarkItems(svg, 'best_0_marks')).toBe(0);
    expect(svg).not.toContain('>best ');
    expect(svg).not.toContain('>train</text>'); // one split: no legend
    expect(svgSize(svg)).toEqual({ width: 800, height: 240 });
  });

  it('leaves missing values out of the line', async () => {
    const svg = await trainingCurves({ loss: [1, Number.NaN, 0.5], val_loss: [null, 0.9, 0.7] }).svg();
    expect(countMarkItems(svg, 'line_0_marks')).toBe(2);
  });

  it('rejects empty histories, ragged series and unknown metrics', () => {
    expect(() => trainingCurves({})).toThrow('trainingCurves: history has no per-epoch values');
    expect(() => trainingCurves({ loss: [1, 2], val_loss: [1] })).toThrow(
      'trainingCurves: history.val_loss has 1 values but there are 2 epochs',
    );
    expect(() => trainingCurves({ loss: [1] }, { metrics: ['acc'] })).toThrow(
      "trainingCurves: metric 'acc' is not in the history (it has: loss)",
    );
  });
});
