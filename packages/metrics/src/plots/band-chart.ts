import { MetricsError } from '../errors.js';
import { checkInterval, type FigureOptions, figureSize, fixedSizeView } from './figure.js';
import type { PlotSpec } from './render.js';
import { Plot } from './render.js';

/** One point of a {@link BandSeries}: `y` at `x`, and optionally a band from `low` to `high`. */
export interface BandPoint {
  x: number;
  y: number;
  low?: number;
  high?: number;
}

/** One line with its band, e.g. an arm's mean validation accuracy per epoch ± sd over seeds. */
export interface BandSeries {
  name: string;
  points: readonly BandPoint[];
}

/** Options of {@link bandChart}. */
export interface BandChartOptions extends FigureOptions {
  /** Title of the x axis; default `'x'`. */
  xLabel?: string;
  /** Title of the y axis; default `'value'`. */
  yLabel?: string;
  /** Integer ticks on the x axis (epochs); default false. */
  integerX?: boolean;
}

function checkSeries(context: string, series: BandSeries, i: number): void {
  const label = `series[${i}] (${series.name})`;
  if (typeof series.name !== 'string' || series.name === '')
    throw new MetricsError(context, `series[${i}] has no name`);
  if (series.points.length === 0) throw new MetricsError(context, `${label} has no points`);
  const xs = new Set<number>();
  for (const [j, p] of series.points.entries()) {
    if (!Number.isFinite(p.x) || !Number.isFinite(p.y))
      throw new MetricsError(context, `${label} points[${j}] is (${p.x}, ${p.y}), not finite numbers`);
    if (xs.has(p.x)) throw new MetricsError(context, `${label} has two points at x = ${p.x}`);
    xs.add(p.x);
    checkInterval(context, `${label} points[${j}]`, 'band', p.low, p.high);
  }
}

/**
 * Lines over x, one per series, each with a shaded band from `low` to `high` (e.g. mean ± sd over
 * seeds) where points have one, and a dot at every point. A series of a single point (one epoch)
 * cannot draw a line or an area, so its band is drawn as an error bar instead. Marks are named
 * `bands`, `lines`, `dots` and `ranges` (the single-point bands), for `countMarkItems`.
 */
export function bandChart(series: readonly BandSeries[], options: BandChartOptions = {}): Plot {
  const context = 'bandChart';
  if (series.length === 0) throw new MetricsError(context, 'no series to draw');
  const names = new Set<string>();
  for (const [i, s] of series.entries()) {
    checkSeries(context, s, i);
    if (names.has(s.name)) throw new MetricsError(context, `series '${s.name}' appears twice`);
    names.add(s.name);
  }
  const { width, height } = figureSize(context, options, { width: 640, height: 360 });
  const order = series.map((s) => s.name);
  const rows = series.flatMap((s) =>
    [...s.points]
      .sort((a, b) => a.x - b.x)
      .map((p) => ({
        series: s.name,
        x: p.x,
        y: p.y,
        low: p.low ?? null,
        high: p.high ?? null,
        alone: s.points.length === 1,
      })),
  );
  const x = {
    field: 'x',
    type: 'quantitative' as const,
    scale: { zero: false, nice: false, padding: 12 },
    axis: { title: options.xLabel ?? 'x', ...(options.integerX ? { tickMinStep: 1, format: 'd' } : {}) },
  };
  const y = {
    field: 'y',
    type: 'quantitative' as const,
    scale: { zero: false },
    title: options.yLabel ?? 'value',
  };
  const color = {
    field: 'series',
    type: 'nominal' as const,
    sort: order,
    scale: { scheme: 'tableau10' },
    // The legend would take the faint fill of the bands; it keys the lines instead.
    legend:
      series.length > 1
        ? {
            title: null,
            orient: 'bottom' as const,
            direction: 'horizontal' as const,
            symbolType: 'stroke',
            symbolOpacity: 1,
            symbolStrokeWidth: 3,
          }
        : null,
  };
  const withBand = 'isValid(datum.low)';
  const spec: PlotSpec = {
    ...fixedSizeView(options.title, { width, height }),
    data: { values: rows },
    layer: [
      {
        name: 'bands',
        transform: [{ filter: `${withBand} && !datum.alone` }],
        mark: { type: 'area', opacity: 0.18 },
        encoding: { x, y: { ...y, field: 'low' }, y2: { field: 'high' }, color },
      },
      {
        name: 'ranges',
        transform: [{ filter: `${withBand} && datum.alone` }],
        mark: { type: 'rule', strokeWidth: 2, opacity: 0.6 },
        encoding: { x, y: { ...y, field: 'low' }, y2: { field: 'high' }, color },
      },
      {
        name: 'lines',
        mark: { type: 'line', strokeWidth: 2 },
        encoding: { x, y, color },
      },
      {
        name: 'dots',
        mark: { type: 'point', filled: true, size: 36, opacity: 1 },
        encoding: { x, y, color },
      },
    ],
  };
  return new Plot(spec, { width, height });
}
