import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { bandChart } from './band-chart.js';
import { svgSize } from './render.js';
import { countMarkItems } from './svg-marks.js';

const series = (name: string, base: number) => ({
  name,
  points: [1, 2, 3, 4, 5].map((x) => ({
    x,
    y: base + Math.log(x),
    low: base + Math.log(x) - 0.3,
    high: base + Math.log(x) + 0.3,
  })),
});

describe('bandChart', () => {
  it('draws a line, a band and a dot per point for each series, with a legend of the lines', async () => {
    const plot = bandChart([series('with-bn', 95), series('no-bn', 93)], {
      title: 'Validation accuracy',
      xLabel: 'epoch',
      yLabel: 'validation accuracy (%)',
      integerX: true,
    });
    const svg = await plot.svg();
    expect(svgSize(svg)).toEqual({ width: 640, height: 360 });
    expect(countMarkItems(svg, 'lines_marks')).toBe(2);
    expect(countMarkItems(svg, 'bands_marks')).toBe(2);
    expect(countMarkItems(svg, 'dots_marks')).toBe(10);
    expect(countMarkItems(svg, 'ranges_marks')).toBe(0);
    expect(svg).toContain('>no-bn</text>');
    const meta = await sharp(await plot.png()).metadata();
    expect([meta.width, meta.height]).toEqual([640, 360]);
  });

  it('draws the band of a one-point series as an error bar, and no band where there is none', async () => {
    const svg = await bandChart([
      { name: 'a', points: [{ x: 1, y: 0.5, low: 0.4, high: 0.6 }] },
      { name: 'b', points: [{ x: 1, y: 0.3 }] },
      {
        name: 'c',
        points: [
          { x: 1, y: 0.2 },
          { x: 2, y: 0.25 },
        ],
      },
    ]).svg();
    expect(countMarkItems(svg, 'ranges_marks')).toBe(1);
    expect(countMarkItems(svg, 'bands_marks')).toBe(0);
    expect(countMarkItems(svg, 'dots_marks')).toBe(4);
  });

  it('rejects empty series, non-finite points, repeated x and half bands', () => {
    expect(() => bandChart([])).toThrow('bandChart: no series to draw');
    expect(() => bandChart([{ name: 'a', points: [] }])).toThrow('series[0] (a) has no points');
    expect(() => bandChart([{ name: 'a', points: [{ x: 1, y: Number.NaN }] }])).toThrow(
      'series[0] (a) points[0] is (1, NaN), not finite numbers',
    );
    expect(() =>
      bandChart([
        {
          name: 'a',
          points: [
            { x: 1, y: 1 },
            { x: 1, y: 2 },
          ],
        },
      ]),
    ).toThrow('series[0] (a) has two points at x = 1');
    expect(() => bandChart([{ name: 'a', points: [{ x: 1, y: 1, high: 2 }] }])).toThrow(
      'points[0] has only one of low and high',
    );
    expect(() =>
      bandChart([
        { name: 'a', points: [{ x: 1, y: 1 }] },
        { name: 'a', points: [{ x: 1, y: 1 }] },
      ]),
    ).toThrow("series 'a' appears twice");
  });
});
