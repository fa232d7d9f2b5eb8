import { MetricsError } from '../errors.js';
import { checkInterval, figureSize, fixedSizeView } from './figure.js';
import type { PlotSpec } from './render.js';
import { Plot } from './render.js';

/**
 * One bar: a run's `name`, its `value`, optionally the `group` it is compared within, and
 * optionally an error bar from `low` to `high` (both or neither; the caller says what they are,
 * e.g. a 95 % margin of error or the p25–p75 spread).
 */
export interface RunValue {
  name: string;
  value: number;
  group?: string;
  low?: number;
  high?: number;
}

/** Options of {@link barChart}. */
export interface BarChartOptions {
  /** Title above the chart. */
  title?: string;
  /** Title of the value axis, e.g. `'test accuracy'` or `'images / s'`. */
  yLabel?: string;
  /** d3-format of the value written above each bar; default `',.4~r'` (4 significant digits). */
  format?: string;
  /** Size of the whole figure in pixels; default 640 × 360. */
  width?: number;
  height?: number;
}

/**
 * A bar chart comparing runs, the value written above each bar (above its error bar when it has
 * one). Without groups there is one bar per run; when runs carry a `group` (e.g. batch size), bars
 * are grouped by it and coloured by run name, with a legend. Bars keep the order of `runs`.
 */
export function barChart(runs: readonly RunValue[], options: BarChartOptions = {}): Plot {
  const context = 'barChart';
  if (runs.length === 0) throw new MetricsError(context, 'no runs to compare');
  const grouped = runs.some((r) => r.group !== undefined);
  const seen = new Set<string>();
  for (const [i, run] of runs.entries()) {
    if (typeof run.name !== 'string' || run.name === '')
      throw new MetricsError(context, `runs[${i}] has no name`);
    if (!Number.isFinite(run.value)) {
      throw new MetricsError(context, `runs[${i}] (${run.name}) has value ${run.value}, not a finite number`);
    }
    checkInterval(context, `runs[${i}] (${run.name})`, 'error bar', run.low, run.high);
    if (grouped && run.group === undefined) {
      throw new MetricsError(context, `runs[${i}] (${run.name}) has no group while other runs have one`);
    }
    const key = `${run.group ?? ''}\u0000${run.name}`;
    if (seen.has(key)) {
      throw new MetricsError(
        context,
        `run '${run.name}'${grouped ? ` in group '${run.group}'` : ''} appears twice`,
      );
    }
    seen.add(key);
  }
  const { width, height } = figureSize(context, options, { width: 640, height: 360 });
  const names = [...new Set(runs.map((r) => r.name))];
  const groups = [...new Set(runs.map((r) => r.group ?? ''))];
  const longest = Math.max(...(grouped ? groups : names).map((n) => n.length));
  const slots = grouped ? groups.length * names.length : names.length;
  const labelAngle = longest * 7 > (width - 80) / (grouped ? groups.length : names.length) ? -35 : 0;
  const format = options.format ?? ',.4~r';
  const withErrors = runs.some((r) => r.low !== undefined);
  const fontSize = slots > 24 ? 8 : 11;

  const color = {
    field: 'name',
    type: 'nominal' as const,
    sort: names,
    scale: { scheme: 'tableau10' },
    legend: grouped ? { title: null } : null,
  };
  const spec: PlotSpec = {
    ...fixedSizeView(options.title, { width, height }),
    data: {
      values: runs.map((r) => ({
        name: r.name,
        value: r.value,
        group: r.group ?? '',
        low: r.low ?? null,
        high: r.high ?? null,
        top: Math.max(r.value, r.high ?? r.value),
      })),
    },
    encoding: {
      x: {
        field: grouped ? 'group' : 'name',
        type: 'nominal',
        sort: grouped ? groups : names,
        title: null,
        axis: { labelAngle, labelLimit: 160 },
      },
      ...(grouped ? { xOffset: { field: 'name', type: 'nominal' as const, sort: names } } : {}),
      y: { field: 'value', type: 'quantitative', title: options.yLabel ?? 'value', axis: { format } },
    },
    layer: [
      { name: 'bars', mark: { type: 'bar', cornerRadiusEnd: 2 }, encoding: { color } },
      ...(withErrors
        ? [
            {
              name: 'errors',
              transform: [{ filter: 'isValid(datum.low)' }],
              mark: { type: 'errorbar' as const, ticks: { size: 6 }, color: '#333', thickness: 1.2 },
              encoding: {
                y: { field: 'low', type: 'quantitative' as const },
                y2: { field: 'high' },
              },
            },
          ]
        : []),
      {
        name: 'values',
        mark: { type: 'text', baseline: 'bottom', dy: -3, fontSize, color: '#333' },
        encoding: {
          y: { field: 'top', type: 'quantitative' },
          text: { field: 'value', type: 'quantitative', format },
        },
      },
    ],
  };
  return new Plot(spec, { width, height });
}
