import { MetricsError } from '../errors.js';
import type { PlotSpec } from './render.js';
import { Plot, plotConfig, renderFitted } from './render.js';

/**
 * Per-epoch values keyed by metric name, as Keras' `History.history` or our trainer's history:
 * `{ epoch?: [1, 2, …], loss: […], accuracy: […], val_loss: […], valAccuracy: […] }`. A key starting
 * with `val_` or `val` + capital letter is the validation series of the metric after it. Missing
 * values (NaN, null) are left out of the line.
 */
export type HistoryLike = Readonly<Record<string, ArrayLike<number | null> | undefined>>;

/** Options of {@link trainingCurves}. */
export interface TrainingCurvesOptions {
  /** Metrics to draw, one panel each, in this order; default every metric in the history. */
  metrics?: readonly string[];
  /** Title above the panels. */
  title?: string;
  /** Panels per row; default `min(panels, 2)`. */
  columns?: number;
  /** Mark and label each panel's best value (default true); off for a series such as a learning rate. */
  markBest?: boolean;
  /** Size of the whole figure in pixels; default 800 × 320 (taller with more rows). */
  width?: number;
  height?: number;
}

const SPLIT_COLORS = { train: '#4c78a8', validation: '#f58518' } as const;
type Split = keyof typeof SPLIT_COLORS;

interface Row {
  epoch: number;
  metric: string;
  split: Split;
  value: number;
  best: boolean;
  label: string;
}

function parseKey(key: string): { metric: string; split: Split } {
  if (key.startsWith('val_') && key.length > 4) return { metric: key.slice(4), split: 'validation' };
  if (/^val[A-Z]/.test(key)) return { metric: key[3].toLowerCase() + key.slice(4), split: 'validation' };
  return { metric: key, split: 'train' };
}

/** Lower is better for losses and errors; higher for everything else. */
const lowerIsBetter = (metric: string) => /loss|error|entropy|mse|mae/i.test(metric);

const formatValue = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(1) : v.toPrecision(4));

/**
 * Training curves: one panel per metric (loss, accuracy, …), the train series against the
 * validation series over epochs, with the best validation value (or best train value when there
 * is no validation) marked and labelled. Written SVG is exactly `width × height`.
 */
export function trainingCurves(history: HistoryLike, options: TrainingCurvesOptions = {}): Plot {
  const context = 'trainingCurves';
  const keys = Object.keys(history).filter((k) => k !== 'epoch' && history[k] !== undefined);
  const lengths = keys.map((k) => history[k]!.length);
  const epochsGiven = history.epoch;
  const n = epochsGiven ? epochsGiven.length : Math.max(0, ...lengths);
  if (keys.length === 0 || n === 0) throw new MetricsError(context, 'history has no per-epoch values');
  for (const key of keys) {
    if (history[key]!.length !== n) {
      throw new MetricsError(
        context,
        `history.${key} has ${history[key]!.length} values but there are ${n} epochs`,
      );
    }
  }
  const epochs = Array.from({ length: n }, (_, i) => (epochsGiven ? Number(epochsGiven[i]) : i + 1));
  const series = keys.map((key) => ({ key, ...parseKey(key) }));
  const available = [...new Set(series.map((s) => s.metric))];
  const metrics = options.metrics ? [...options.metrics] : available;
  for (const m of metrics) {
    if (!available.includes(m)) {
      throw new MetricsError(
        context,
        `metric '${m}' is not in the history (it has: ${available.join(', ')})`,
      );
    }
  }
  if (metrics.length === 0) throw new MetricsError(context, 'no metrics to draw');

  const rows: Row[] = [];
  const splits = new Set<Split>();
  for (const metric of metrics) {
    const own = series.filter((s) => s.metric === metric);
    const bestSplit: Split = own.some((s) => s.split === 'validation') ? 'validation' : 'train';
    for (const { key, split } of own) {
      const values = history[key]!;
      const start = rows.length;
      let bestIndex = -1;
      for (let i = 0; i < n; i++) {
        const v = values[i];
        if (v === null || !Number.isFinite(v)) continue;
        rows.push({ epoch: epochs[i], metric, split, value: v, best: false, label: '' });
        const best = bestIndex < 0 ? undefined : rows[bestIndex].value;
        if (best === undefined || (lowerIsBetter(metric) ? v < best : v > best)) bestIndex = rows.length - 1;
      }
      if (rows.length > start) splits.add(split);
      if (options.markBest !== false && split === bestSplit && bestIndex >= 0) {
        const best = rows[bestIndex];
        best.best = true;
        best.label = `best ${formatValue(best.value)} (epoch ${best.epoch})`;
      }
    }
  }
  if (rows.length === 0) throw new MetricsError(context, 'history has no finite values');

  const columns = Math.max(1, Math.min(metrics.length, options.columns ?? 2));
  const gridRows = Math.ceil(metrics.length / columns);
  const width = options.width ?? 800;
  const height = options.height ?? 320 * gridRows;
  if (!(width >= 100 && height >= 80))
    throw new MetricsError(context, `figure of ${width}×${height} is too small`);
  const epochMid = (epochs[0] + epochs[n - 1]) / 2;
  const domain = (['train', 'validation'] as const).filter((s) => splits.has(s));

  const build = (
    panelWidth: number,
    panelHeight: number,
    extra: { right: number; bottom: number },
  ): PlotSpec => ({
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    ...(options.title ? { title: options.title } : {}),
    config: plotConfig,
    padding: { left: 5, top: 5, right: 5 + extra.right, bottom: 5 + extra.bottom },
    data: { values: rows },
    columns,
    concat: metrics.map((metric, i) => {
      const x = {
        field: 'epoch',
        type: 'quantitative' as const,
        scale: { zero: false, nice: false },
        axis: { title: 'epoch', tickMinStep: 1, format: 'd' },
      };
      const y = { field: 'value', type: 'quantitative' as const, scale: { zero: false }, title: null };
      const color = {
        field: 'split',
        type: 'nominal' as const,
        scale: { domain, range: domain.map((s) => SPLIT_COLORS[s]) },
        // One split (a learning rate, a run without validation) needs no key.
        legend:
          domain.length > 1
            ? { title: null, orient: 'bottom' as const, direction: 'horizontal' as const }
            : null,
      };
      return {
        title: { text: metric, anchor: 'middle' as const, fontSize: 13 },
        width: panelWidth,
        height: panelHeight,
        transform: [{ filter: { field: 'metric', equal: metric } }],
        layer: [
          {
            name: `line_${i}`,
            mark: { type: 'line' as const, strokeWidth: 2 },
            encoding: { x, y, color },
          },
          {
            name: `best_${i}`,
            transform: [{ filter: 'datum.best' }],
            mark: { type: 'point' as const, filled: true, size: 80, opacity: 1 },
            encoding: { x, y, color },
          },
          {
            name: `bestlabel_${i}`,
            transform: [{ filter: 'datum.best' }],
            mark: {
              type: 'text' as const,
              dy: -12,
              align: { expr: `datum.epoch > ${epochMid} ? 'right' : 'left'` },
              fontSize: 11,
              color: '#333',
            },
            encoding: {
              x,
              y,
              text: { field: 'label', type: 'nominal' as const },
            },
          },
        ],
      };
    }),
    resolve: { scale: { color: 'shared' } },
  });

  const guess = { width: (width - 90 * columns) / columns, height: (height - 90 * gridRows) / gridRows };
  const initial = build(Math.round(guess.width), Math.round(guess.height), { right: 0, bottom: 0 });
  return new Plot(initial, { width, height }, () =>
    renderFitted(build, { width, height }, { columns, rows: gridRows }, guess),
  );
}
