import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { MetricsError } from '../errors.js';
import type { PlotSpec } from './render.js';
import { renderPlot, svgSize, svgToPng, writePlot } from './render.js';
import { countMarkItems } from './svg-marks.js';

const spec: PlotSpec = {
  width: 200,
  height: 120,
  autosize: { type: 'fit', contains: 'padding' },
  data: {
    values: [
      { x: 'a', y: 1 },
      { x: 'b', y: 3 },
      { x: 'c', y: 2 },
    ],
  },
  mark: 'bar',
  name: 'chart',
  encoding: { x: { field: 'x', type: 'nominal' }, y: { field: 'y', type: 'quantitative' } },
};

describe('renderPlot / writePlot', () => {
  it('renders SVG of the requested size and a PNG that decodes to it, scaled', async () => {
    const { svg, png } = await renderPlot(spec, { scale: 2 });
    expect(svgSize(svg)).toEqual({ width: 200, height: 120 });
    expect(countMarkItems(svg, 'chart_marks')).toBe(3);
    const meta = await sharp(png).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', 400, 240]);
    const half = await sharp(await svgToPng(svg, 0.5)).metadata();
    expect([half.width, half.height]).toEqual([100, 60]);
  });

  it('writes base.svg and base.png atomically, leaving no temporary files', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lenet-metrics-'));
    const written = await writePlot(spec, join(dir, 'sub', 'chart'));
    expect(written).toEqual({ svg: join(dir, 'sub', 'chart.svg'), png: join(dir, 'sub', 'chart.png') });
    expect((await readdir(join(dir, 'sub'))).sort()).toEqual(['chart.png', 'chart.svg']);
    expect(await readFile(written.svg!, 'utf8')).toMatch(/^<svg /);
    const meta = await sharp(written.png!).metadata();
    expect([meta.width, meta.height]).toEqual([200, 120]);
    const onlyPng = await writePlot(spec, { png: join(dir, 'only.png') });
    expect(onlyPng).toEqual({ svg: undefined, png: join(dir, 'only.png') });
  });

  it('reports bad specs, scales and paths as MetricsError', async () => {
    await expect(renderPlot({ mark: 'nonsense' } as never)).rejects.toThrow(
      /renderSvg: invalid Vega-Lite spec/,
    );
    await expect(svgToPng('<svg/>', 0)).rejects.toThrow('svgToPng: scale must be in (0, 16], got 0');
    await expect(writePlot(spec, {})).rejects.toBeInstanceOf(MetricsError);
  });
});

describe('countMarkItems', () => {
  it('counts items inside every group of a named mark, not in nested or other groups', () => {
    const svg =
      '<svg><g class="mark-rect role-mark a_marks"><path/><path d="x"/></g>' +
      '<g class="mark-rect role-mark b_marks"><path/></g>' +
      '<g class="mark-text role-mark a_marks"><text>1</text><text>2 &lt; 3</text><text>x</text></g></svg>';
    expect(countMarkItems(svg, 'a_marks')).toBe(5);
    expect(countMarkItems(svg, 'b_marks')).toBe(1);
    expect(countMarkItems(svg, 'c_marks')).toBe(0);
  });
});
