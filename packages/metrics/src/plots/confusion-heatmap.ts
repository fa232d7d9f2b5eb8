import type { ConfusionMatrixResult, Normalization } from '../confusion-matrix.js';
import { ConfusionMatrix, normalizeConfusionMatrix } from '../confusion-matrix.js';
import { MetricsError } from '../errors.js';
import { figureSize, fixedSizeView } from './figure.js';
import type { PlotSpec } from './render.js';
import { Plot } from './render.js';

/** Options of {@link confusionHeatmap}. */
export interface ConfusionHeatmapOptions {
  /** Colour cells by the matrix normalised over true classes, predicted classes or all; default: raw counts. */
  normalize?: Normalization;
  /** Title above the plot; default `'Confusion matrix'`. */
  title?: string;
  /** Size of the whole figure in pixels; default 560 × 500. */
  width?: number;
  height?: number;
}

const LEGEND_TITLES: Record<Normalization, string> = {
  true: 'share of row',
  pred: 'share of column',
  all: 'share of all',
};

/**
 * A confusion-matrix heatmap: rows are true classes, columns predicted classes, each labelled with
 * its class name; every non-zero cell has its count written in. Colour is the count or, with
 * `normalize`, the normalised value (so rare classes are as visible as common ones).
 */
export function confusionHeatmap(
  confusion: ConfusionMatrixResult | ConfusionMatrix,
  classNames?: readonly string[],
  options: ConfusionHeatmapOptions = {},
): Plot {
  const context = 'confusionHeatmap';
  const { matrix, classes } = confusion instanceof ConfusionMatrix ? confusion.compute() : confusion;
  if (matrix.length !== classes * classes) {
    throw new MetricsError(context, `matrix has ${matrix.length} cells, expected ${classes}×${classes}`);
  }
  const names = classNames ? [...classNames] : Array.from({ length: classes }, (_, i) => String(i));
  if (names.length !== classes)
    throw new MetricsError(context, `${names.length} class names for ${classes} classes`);
  if (new Set(names).size !== names.length) throw new MetricsError(context, 'class names must be unique');
  const { width, height } = figureSize(
    context,
    options,
    { width: 560, height: 500 },
    { width: 100, height: 100 },
  );

  const values = options.normalize ? normalizeConfusionMatrix(matrix, classes, options.normalize) : matrix;
  let max = 0;
  for (let i = 0; i < values.length; i++) max = Math.max(max, values[i]);
  const cells = [];
  for (let t = 0; t < classes; t++) {
    for (let p = 0; p < classes; p++) {
      const i = t * classes + p;
      cells.push({ true: names[t], predicted: names[p], count: matrix[i], value: values[i] });
    }
  }
  const longest = Math.max(...names.map((n) => n.length));
  const cellSize = Math.min(width, height) / (classes + 2);
  const fontSize = Math.max(7, Math.min(13, Math.round(cellSize * 0.32)));
  const spec: PlotSpec = {
    ...fixedSizeView(options.title ?? 'Confusion matrix', { width, height }),
    data: { values: cells },
    encoding: {
      x: {
        field: 'predicted',
        type: 'ordinal',
        sort: names,
        title: 'predicted',
        axis: { labelAngle: longest > 3 ? -40 : 0, domain: false, ticks: false },
      },
      y: {
        field: 'true',
        type: 'ordinal',
        sort: names,
        title: 'true',
        axis: { domain: false, ticks: false },
      },
    },
    layer: [
      {
        name: 'cells',
        mark: { type: 'rect', stroke: 'white', strokeWidth: 1 },
        encoding: {
          color: {
            field: 'value',
            type: 'quantitative',
            scale: { domain: [0, max || 1], range: ['#f7fbff', '#c6dbef', '#6baed6', '#2171b5', '#08306b'] },
            title: options.normalize ? LEGEND_TITLES[options.normalize] : 'count',
            legend: { gradientLength: Math.max(60, Math.round(height * 0.5)), titleLimit: 200 },
          },
        },
      },
      {
        name: 'counts',
        transform: [{ filter: 'datum.count > 0' }],
        mark: { type: 'text', fontSize },
        encoding: {
          text: { field: 'count', type: 'quantitative' },
          color: { condition: { test: `datum.value > ${(max || 1) * 0.55}`, value: 'white' }, value: '#222' },
        },
      },
    ],
  };
  return new Plot(spec, { width, height });
}
