// What the single-view charts share: their size options and checks, the top of their spec, and
// the check of an optional interval (error bar, band).
import type { Config } from 'vega-lite';
import { MetricsError } from '../errors.js';
import { plotConfig } from './render.js';

/** Title and size of a figure; each chart has its own default size. */
export interface FigureOptions {
  /** Title above the chart. */
  title?: string;
  /** Size of the whole figure in pixels. */
  width?: number;
  height?: number;
}

/** The figure size from `options` or the chart's default, refused below `min` (default 100 × 80). */
export function figureSize(
  context: string,
  options: FigureOptions,
  fallback: { width: number; height: number },
  min = { width: 100, height: 80 },
): { width: number; height: number } {
  const width = options.width ?? fallback.width;
  const height = options.height ?? fallback.height;
  if (!(width >= min.width && height >= min.height))
    throw new MetricsError(context, `figure of ${width}×${height} is too small`);
  return { width, height };
}

/** The top of a one-view spec drawn at exactly its size (see {@link fixedSizeView}). */
interface FixedSizeView {
  $schema: string;
  title?: string;
  config: Config;
  width: number;
  height: number;
  autosize: { type: 'fit'; contains: 'padding' };
  padding: number;
}

/** The top of a one-view spec drawn at exactly `size`: schema, title, shared config, fit to size. */
export function fixedSizeView(
  title: string | undefined,
  size: { width: number; height: number },
): FixedSizeView {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    ...(title ? { title } : {}),
    config: plotConfig,
    width: size.width,
    height: size.height,
    autosize: { type: 'fit', contains: 'padding' },
    padding: 5,
  };
}

/**
 * Checks an optional interval `low..high` of `what` (e.g. `runs[2] (wasm) has error bar`): both
 * or neither, finite, `low <= high`.
 */
export function checkInterval(
  context: string,
  subject: string,
  what: string,
  low: number | undefined,
  high: number | undefined,
): void {
  if ((low === undefined) !== (high === undefined))
    throw new MetricsError(context, `${subject} has only one of low and high`);
  if (low !== undefined && !(Number.isFinite(low) && Number.isFinite(high) && low <= high!))
    throw new MetricsError(
      context,
      `${subject} has ${what} ${low}..${high}, not finite numbers with low <= high`,
    );
}
