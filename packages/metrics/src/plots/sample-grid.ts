import sharp from 'sharp';
import { MetricsError } from '../errors.js';
import type { Labels } from '../validate.js';
import { checkLabels } from '../validate.js';
import type { PlotSpec } from './render.js';
import { Plot, plotConfig } from './render.js';

/** Shape of each image in an NHWC `Uint8Array`. */
export interface ImageShape {
  height: number;
  width: number;
  /** 1 (grey), 3 (RGB) or 4 (RGBA). */
  channels: number;
}

/** Options of {@link sampleGrid}. */
export interface SampleGridOptions {
  /** Images per row; default `min(n, 8)`. */
  columns?: number;
  /** Side of each drawn image in pixels (upscaled with nearest neighbour); default `2 × max(h, w)` within [48, 128]. */
  imageSize?: number;
  /** Title line; default `'Predictions: k of n wrong'`. */
  title?: string;
  /**
   * The probability the model gave its predicted class, one per image: each label then ends with
   * it as a percentage (`3 → 5 97%`, `7 99%`).
   */
  probabilities?: ArrayLike<number>;
}

const MAX_IMAGES = 1000;
const WRONG = '#d62728';
const MARGIN = 8;
const GAP = 10;
const LABEL = 18;
const HEADER = 30;
const CHAR_WIDTH = 7;

/**
 * A grid of sample images, each with its label underneath; where the prediction is wrong the
 * image gets a red frame and the label reads `true → predicted` in red, followed by the predicted
 * class's probability when `options.probabilities` gives it. Images are drawn in the order given
 * (`mistakesFirst` picks and orders them). Images are embedded as PNG data URIs (Vega `image`
 * marks). The size follows from the images: see `plot.width/height`.
 */
export async function sampleGrid(
  images: Uint8Array,
  shape: ImageShape,
  trueLabels: Labels,
  predLabels: Labels,
  classNames?: readonly string[],
  options: SampleGridOptions = {},
): Promise<Plot> {
  const context = 'sampleGrid';
  const { height: h, width: w, channels: c } = shape;
  for (const [k, v] of Object.entries({ height: h, width: w })) {
    if (!Number.isInteger(v) || v < 1)
      throw new MetricsError(context, `image ${k} must be an integer >= 1, got ${v}`);
  }
  if (![1, 3, 4].includes(c)) throw new MetricsError(context, `channels must be 1, 3 or 4, got ${c}`);
  const n = trueLabels.length;
  if (predLabels.length !== n) {
    throw new MetricsError(
      context,
      `length mismatch: ${predLabels.length} predicted labels but ${n} true labels`,
    );
  }
  if (n === 0) throw new MetricsError(context, 'no images to show');
  if (n > MAX_IMAGES)
    throw new MetricsError(context, `${n} images is too many for one grid (at most ${MAX_IMAGES})`);
  if (images.length !== n * h * w * c) {
    throw new MetricsError(
      context,
      `images has ${images.length} bytes but ${n} labels × ${h}×${w}×${c} = ${n * h * w * c} were expected (NHWC)`,
    );
  }
  const classes = classNames?.length ?? Number.MAX_SAFE_INTEGER;
  checkLabels(context, 'trueLabels', trueLabels, classes);
  checkLabels(context, 'predLabels', predLabels, classes);
  const probabilities = options.probabilities;
  if (probabilities) {
    if (probabilities.length !== n) {
      throw new MetricsError(
        context,
        `length mismatch: ${probabilities.length} probabilities but ${n} images`,
      );
    }
    for (let i = 0; i < n; i++) {
      if (!(probabilities[i] >= 0 && probabilities[i] <= 1))
        throw new MetricsError(context, `probabilities[${i}] = ${probabilities[i]} is not in [0, 1]`);
    }
  }
  const nameOf = (label: number) => classNames?.[label] ?? String(label);
  // Rounded down, so that a prediction short of certain never reads 100 %.
  const percent = (i: number) => (probabilities ? ` ${Math.floor(probabilities[i] * 100)}%` : '');

  const columns = options.columns ?? Math.min(n, 8);
  if (!Number.isInteger(columns) || columns < 1) {
    throw new MetricsError(context, `columns must be an integer >= 1, got ${columns}`);
  }
  const size = Math.round(options.imageSize ?? Math.min(128, Math.max(48, 2 * Math.max(h, w))));
  if (!(size >= 8 && size <= 512))
    throw new MetricsError(context, `imageSize must be in [8, 512], got ${size}`);
  const labels = Array.from(
    { length: n },
    (_, i) =>
      (trueLabels[i] === predLabels[i]
        ? nameOf(trueLabels[i])
        : `${nameOf(trueLabels[i])} → ${nameOf(predLabels[i])}`) + percent(i),
  );
  // Columns wide enough for the longest label (DejaVu Sans 11 px averages under 7 px a character).
  const slot = Math.max(size, Math.ceil(Math.max(...labels.map((l) => l.length)) * CHAR_WIDTH));
  const cellW = slot + GAP;
  const cellH = size + LABEL + GAP;
  const rows = Math.ceil(n / columns);
  const width = 2 * MARGIN + columns * cellW - GAP;
  const height = HEADER + rows * cellH - GAP + MARGIN;
  const drawW = Math.max(1, Math.round(w * (size / Math.max(h, w))));
  const drawH = Math.max(1, Math.round(h * (size / Math.max(h, w))));

  const pixels = h * w * c;
  const urls = await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const png = await sharp(images.subarray(i * pixels, (i + 1) * pixels), {
        raw: { width: w, height: h, channels: c as 1 | 3 | 4 },
      })
        .resize(drawW, drawH, { kernel: 'nearest' })
        .png()
        .toBuffer();
      return `data:image/png;base64,${png.toString('base64')}`;
    }),
  );
  let wrongCount = 0;
  const cells = urls.map((url, i) => {
    const t = trueLabels[i];
    const p = predLabels[i];
    const wrong = t !== p;
    if (wrong) wrongCount++;
    const x = MARGIN + (i % columns) * cellW + (slot - size) / 2;
    const y = HEADER + Math.floor(i / columns) * cellH;
    return {
      url,
      x: x + (size - drawW) / 2,
      y: y + (size - drawH) / 2,
      bx: x - 2,
      by: y - 2,
      bx2: x + size + 2,
      by2: y + size + 2,
      tx: x + size / 2,
      ty: y + size + 4,
      label: labels[i],
      wrong,
    };
  });
  const title =
    options.title ??
    `Predictions: ${wrongCount} of ${n} wrong${wrongCount ? ' (red: true → predicted)' : ''}`;
  const px = (field: string) => ({ field, type: 'quantitative' as const, scale: null, axis: null });

  const spec: PlotSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    config: plotConfig,
    width,
    height,
    autosize: { type: 'none' },
    padding: 0,
    layer: [
      {
        name: 'title',
        data: { values: [{ x: MARGIN, y: HEADER / 2, text: title }] },
        mark: {
          type: 'text',
          align: 'left',
          baseline: 'middle',
          fontSize: 13,
          fontWeight: 'bold',
          aria: false,
        },
        encoding: { x: px('x'), y: px('y'), text: { field: 'text', type: 'nominal' } },
      },
      {
        data: { values: cells },
        layer: [
          {
            name: 'images',
            mark: { type: 'image', width: drawW, height: drawH, align: 'left', baseline: 'top', aria: false },
            encoding: { x: px('x'), y: px('y'), url: { field: 'url', type: 'nominal' } },
          },
          {
            name: 'frames',
            transform: [{ filter: 'datum.wrong' }],
            mark: { type: 'rect', filled: false, stroke: WRONG, strokeWidth: 3, aria: false },
            encoding: { x: px('bx'), x2: { field: 'bx2' }, y: px('by'), y2: { field: 'by2' } },
          },
          {
            name: 'labels',
            mark: { type: 'text', baseline: 'top', align: 'center', fontSize: 11, aria: false },
            encoding: {
              x: px('tx'),
              y: px('ty'),
              text: { field: 'label', type: 'nominal' },
              color: { condition: { test: 'datum.wrong', value: WRONG }, value: '#333' },
            },
          },
        ],
      },
    ],
  };
  return new Plot(spec, { width, height });
}
