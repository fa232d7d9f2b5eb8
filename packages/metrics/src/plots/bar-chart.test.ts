import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { barChart } from './bar-chart.js';
import { svgSize } from './render.js';
import { countMarkItems } from './svg-marks.js';

describe('barChart', () => {
  it('draws one bar and one value label per run', async () => {
    const plot = barChart(
      [
        { name: 'lenet-1', value: 0.9871 },
        { name: 'lenet-4', value: 0.9902 },
        { name: 'lenet-5', value: 0.99213 },
      ],
      { title: 'Test accuracy', yLabel: 'accuracy' },
    );
    const svg = await plot.svg();
    expect(svgSize(svg)).toEqual({ width: 640, height: 360 });
    expect(countMarkItems(svg, 'bars_marks')).toBe(3);
    expect(countMarkItems(svg, 'values_marks')).toBe(3);
    expect(svg.includes('>0.9921</text>')).toBe(true);
    const meta = await sharp(await plot.png(2)).metadata();
    expect([meta.width, meta.height]).toEqual([1280, 720]);
  });

  it('groups runs with a legend when they carry a group', async () => {
    const runs = ['batch 32', 'batch 128'].flatMap((group, g) =>
      ['cpu', 'wasm', 'tensorflow'].map((name, i) => ({ name, group, value: (i + 1) * 1000 * (g + 1) })),
    );
    const svg = await barChart(runs, { yLabel: 'images / s', width: 480, height: 300 }).svg();
    expect(svgSize(svg)).toEqual({ width: 480, height: 300 });
    expect(countMarkItems(svg, 'bars_marks')).toBe(6);
    expect(svg.includes('role-legend')).toBe(true);
    expect(svg.includes('>6,000</text>')).toBe(true);
  });

  it('draws an error bar from low to high where a run has one, its value label above it', async () => {
    const svg = await barChart([
      { name: 'wasm', value: 1000, low: 900, high: 1100 },
      { name: 'ort-cpu', value: 4000, low: 3000, high: 5000 },
      { name: 'pytorch-cpu', value: 2000 },
    ]).svg();
    expect(countMarkItems(svg, 'bars_marks')).toBe(3);
    // errorbar: one rule (the whisker) and two ticks (the caps) per run that has bounds
    expect(countMarkItems(svg, 'errors_layer_2_marks')).toBe(2);
    expect(countMarkItems(svg, 'errors_layer_0_marks') + countMarkItems(svg, 'errors_layer_1_marks')).toBe(4);
    expect(countMarkItems(svg, 'values_marks')).toBe(3);
    // without bounds there is no error-bar layer at all
    expect(countMarkItems(await barChart([{ name: 'a', value: 1 }]).svg(), 'errors_layer_2_marks')).toBe(0);
  });

  it('rejects empty input, non-finite values, duplicates and half-grouped runs', () => {
    expect(() => barChart([{ name: 'a', value: 1, low: 2, high: 1 }])).toThrow(
      'runs[0] (a) has error bar 2..1, not finite numbers with low <= high',
    );
    expect(() => barChart([{ name: 'a', value: 1, low: 0 }])).toThrow('has only one of low and high');
    expect(() => barChart([])).toThrow('barChart: no runs to compare');
    expect(() => barChart([{ name: 'a', value: Number.NaN }])).toThrow('runs[0] (a) has value NaN');
    expect(() =>
      barChart([
        { name: 'a', value: 1 },
        { name: 'a', value: 2 },
      ]),
    ).toThrow("run 'a' appears twice");
    expect(() =>
      barChart([
        { name: 'a', value: 1, group: 'g' },
        { name: 'b', value: 2 },
      ]),
    ).toThrow('runs[1] (b) has no group while other runs have one');
  });
});
