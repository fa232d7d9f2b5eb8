import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { pointIntervalChart } from './point-interval-chart.js';
import { svgSize } from './render.js';
import { countMarkItems } from './svg-marks.js';

describe('pointIntervalChart', () => {
  it('draws every value, a centre per group and an error bar where a group has an interval', async () => {
    const plot = pointIntervalChart(
      [
        { name: 'with-bn', values: [97.1, 97.3, 96.9, 97.3, 97.0], center: 97.12, low: 96.9, high: 97.34 },
        { name: 'no-bn', values: [92.1, 93.3, 91.9, 94.3, 90.0], center: 92.32, low: 90.4, high: 94.2 },
        { name: 'one-seed', values: [95], center: 95 },
      ],
      { title: 'Test accuracy', yLabel: 'test accuracy (%)' },
    );
    const svg = await plot.svg();
    expect(svgSize(svg)).toEqual({ width: 640, height: 360 });
    expect(countMarkItems(svg, 'points_marks')).toBe(11);
    expect(countMarkItems(svg, 'centers_marks')).toBe(3);
    expect(countMarkItems(svg, 'labels_marks')).toBe(3);
    // errorbar: a rule and two ticks per group with an interval (not the one-seed group)
    expect(countMarkItems(svg, 'intervals_layer_2_marks')).toBe(2);
    expect(
      countMarkItems(svg, 'intervals_layer_0_marks') + countMarkItems(svg, 'intervals_layer_1_marks'),
    ).toBe(4);
    expect(svg).toContain('>97.12</text>');
    expect(svg).toContain('>one-seed</text>');
    const meta = await sharp(await plot.png(2)).metadata();
    expect([meta.width, meta.height]).toEqual([1280, 720]);
    // the same input draws the same picture: the sideways spread is not random
    expect(await pointIntervalChart([{ name: 'a', values: [1, 1, 2], center: 4 / 3 }]).svg()).toBe(
      await pointIntervalChart([{ name: 'a', values: [1, 1, 2], center: 4 / 3 }]).svg(),
    );
  });

  it('has no error-bar layer when no group has an interval', async () => {
    const svg = await pointIntervalChart([{ name: 'a', values: [0.5], center: 0.5 }]).svg();
    expect(countMarkItems(svg, 'points_marks')).toBe(1);
    expect(countMarkItems(svg, 'intervals_layer_2_marks')).toBe(0);
  });

  it('rejects empty input, non-finite values, half intervals and duplicate groups', () => {
    expect(() => pointIntervalChart([])).toThrow('pointIntervalChart: no groups to draw');
    expect(() => pointIntervalChart([{ name: 'a', values: [] }])).toThrow(
      'pointIntervalChart: no values to draw',
    );
    expect(() => pointIntervalChart([{ name: 'a', values: [1, Number.NaN] }])).toThrow(
      'groups[0] (a) has values[1] = NaN, not a finite number',
    );
    expect(() => pointIntervalChart([{ name: 'a', values: [1], center: 1, low: 0 }])).toThrow(
      'groups[0] (a) has only one of low and high',
    );
    expect(() => pointIntervalChart([{ name: 'a', values: [1], low: 0, high: 2 }])).toThrow(
      'groups[0] (a) has an interval but no center',
    );
    expect(() => pointIntervalChart([{ name: 'a', values: [1], center: 1, low: 2, high: 0 }])).toThrow(
      'has interval 2..0, not finite numbers with low <= high',
    );
    expect(() =>
      pointIntervalChart([
        { name: 'a', values: [1] },
        { name: 'a', values: [2] },
      ]),
    ).toThrow("group 'a' appears twice");
  });
});
