import { MetricsError } from '../errors.js';
import { checkInterval, type FigureOptions, figureSize, fixedSizeView } from './figure.js';
import type { PlotSpec } from './render.js';
import { Plot } from './render.js';

/**
 * One group of repeated measurements (e.g. one arm's test accuracy over seeds): every `values`
 * entry is drawn as a point; `center` (e.g. the mean) as a larger mark, with an interval from
 * `low` to `high` (e.g. its 95 % confidence interval) where both are given.
 */
export interface PointGroup {
  name: string;
  values: readonly number[];
  center?: number;
  low?: number;
  high?: number;
}

/** Options of {@link pointIntervalChart}. */
export interface PointIntervalChartOptions extends FigureOptions {
  /** Title of the value axis, e.g. `'test accuracy (%)'`. */
  yLabel?: string;
  /** d3-format of the centre's label; default `',.4~r'`. */
  format?: string;
}

function checkGroup(context: string, group: PointGroup, i: number): void {
  const label = `groups[${i}] (${group.name})`;
  if (typeof group.name !== 'string' || group.name === '')
    throw new MetricsError(context, `groups[${i}] has no name`);
  for (const [j, v] of group.values.entries()) {
    if (!Number.isFinite(v))
      throw new MetricsError(context, `${label} has values[${j}] = ${v}, not a finite number`);
  }
  if (group.center !== undefined && !Number.isFinite(group.center))
    throw new MetricsError(context, `${label} has center ${group.center}, not a finite number`);
  checkInterval(context, label, 'interval', group.low, group.high);
  if (group.low !== undefined && group.center === undefined)
    throw new MetricsError(context, `${label} has an interval but no center`);
}

/**
 * Repeated measurements per group, side by side: each value a small point (spread sideways, in a
 * fixed order, so that equal values stay visible), and the group's centre as a larger mark with
 * its interval as an error bar and its value written beside it. Groups keep the order given.
 * Marks are named `points`, `centers`, `intervals` (a Vega-Lite error bar: `intervals_layer_*`)
 * and `labels`, for tests that count them (`countMarkItems`).
 */
export function pointIntervalChart(
  groups: readonly PointGroup[],
  options: PointIntervalChartOptions = {},
): Plot {
  const context = 'pointIntervalChart';
  if (groups.length === 0) throw new MetricsError(context, 'no groups to draw');
  const names = new Set<string>();
  for (const [i, group] of groups.entries()) {
    checkGroup(context, group, i);
    if (names.has(group.name)) throw new MetricsError(context, `group '${group.name}' appears twice`);
    names.add(group.name);
  }
  if (groups.every((g) => g.values.length === 0 && g.center === undefined))
    throw new MetricsError(context, 'no values to draw');
  const { width, height } = figureSize(context, options, { width: 640, height: 360 });
  const format = options.format ?? ',.4~r';
  const order = groups.map((g) => g.name);

  // Points sit left of the centre, spread over a fixed width in value order: a deterministic
  // jitter (same figure on every run) that keeps ties apart.
  const points = groups.flatMap((g) =>
    [...g.values]
      .sort((a, b) => a - b)
      .map((value, k, all) => ({
        group: g.name,
        value,
        offset: all.length === 1 ? -0.25 : -0.4 + (0.3 * k) / (all.length - 1),
      })),
  );
  const centers = groups
    .filter((g) => g.center !== undefined)
    .map((g) => ({ group: g.name, center: g.center!, low: g.low ?? null, high: g.high ?? null }));
  const withIntervals = centers.some((c) => c.low !== null);
  const x = {
    field: 'group',
    type: 'nominal' as const,
    sort: order,
    title: null,
    axis: { labelAngle: 0, labelLimit: 160 },
  };
  const offsetScale = { domain: [-0.5, 0.5] };
  const color = {
    field: 'group',
    type: 'nominal' as const,
    sort: order,
    scale: { scheme: 'tableau10' },
    legend: null,
  };
  const y = {
    type: 'quantitative' as const,
    scale: { zero: false },
    title: options.yLabel ?? 'value',
  };

  const spec: PlotSpec = {
    ...fixedSizeView(options.title, { width, height }),
    layer: [
      {
        name: 'points',
        data: { values: points },
        mark: { type: 'point', filled: true, size: 40, opacity: 0.7 },
        encoding: {
          x,
          xOffset: { field: 'offset', type: 'quantitative', scale: offsetScale },
          y: { ...y, field: 'value' },
          color,
        },
      },
      ...(withIntervals
        ? [
            {
              name: 'intervals',
              data: { values: centers.filter((c) => c.low !== null) },
              mark: { type: 'errorbar' as const, ticks: { size: 8 }, color: '#333', thickness: 1.4 },
              encoding: {
                x,
                y: { ...y, field: 'low' },
                y2: { field: 'high' },
              },
            },
          ]
        : []),
      {
        name: 'centers',
        data: { values: centers },
        mark: { type: 'point', shape: 'diamond', filled: true, size: 110, opacity: 1, color: '#333' },
        encoding: { x, y: { ...y, field: 'center' } },
      },
      {
        name: 'labels',
        data: { values: centers },
        mark: { type: 'text', align: 'left', dx: 10, fontSize: 11, color: '#333' },
        encoding: {
          x,
          y: { ...y, field: 'center' },
          text: { field: 'center', type: 'quantitative', format },
        },
      },
    ],
  };
  return new Plot(spec, { width, height });
}
