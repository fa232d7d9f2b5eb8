import { writeFileAtomic } from '@lenet/common';
import sharp from 'sharp';
import { parse, View } from 'vega';
import type { Config, TopLevelSpec } from 'vega-lite';
import { compile } from 'vega-lite';
import { MetricsError } from '../errors.js';

/** A Vega-Lite specification (JSON), as accepted by the Vega editor. */
export type PlotSpec = TopLevelSpec;

/** The font every plot asks for; DejaVu Sans ships with most Linux distributions and librsvg finds it. */
export const PLOT_FONT = 'DejaVu Sans';

/** Shared look of all plots: one font, white background, no frame around single views. */
export const plotConfig: Config = {
  font: PLOT_FONT,
  background: 'white',
  view: { stroke: null },
  title: { fontSize: 14, anchor: 'start', offset: 8 },
  axis: { labelFontSize: 11, titleFontSize: 12, gridColor: '#e6e6e6' },
  legend: { labelFontSize: 11, titleFontSize: 11 },
};

/** Where {@link writePlot} and `Plot.write` put the files, or the path both share without extension. */
export type PlotPaths = string | { svg?: string; png?: string };

/** Paths of the files written. */
export interface WrittenPlot {
  svg?: string;
  png?: string;
}

/** SVG and PNG of one plot. */
export interface RenderedPlot {
  svg: string;
  png: Buffer;
}

/** Width and height (CSS pixels) from the root `<svg>` element vega writes. */
export function svgSize(svg: string): { width: number; height: number } {
  const root = /<svg\b[^>]*>/.exec(svg)?.[0] ?? '';
  const width = Number(/\swidth="([\d.]+)"/.exec(root)?.[1]);
  const height = Number(/\sheight="([\d.]+)"/.exec(root)?.[1]);
  if (!(width > 0 && height > 0))
    throw new MetricsError('svgSize', 'no width/height on the root <svg> element');
  return { width, height };
}

/** Renders a Vega-Lite spec to an SVG string with Vega's headless renderer (no browser, no canvas). */
export async function renderSvg(spec: PlotSpec): Promise<string> {
  let runtime: ReturnType<typeof parse>;
  try {
    runtime = parse(compile(spec).spec);
  } catch (error) {
    throw new MetricsError('renderSvg', `invalid Vega-Lite spec: ${(error as Error).message}`);
  }
  const view = new View(runtime, { renderer: 'none', logLevel: 0 });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Rasterises an SVG string to PNG with sharp (librsvg); `scale` 2 doubles both sides. */
export async function svgToPng(svg: string, scale = 1): Promise<Buffer> {
  if (!(scale > 0 && scale <= 16))
    throw new MetricsError('svgToPng', `scale must be in (0, 16], got ${scale}`);
  return sharp(Buffer.from(svg), { density: 72 * scale })
    .png({ compressionLevel: 9, adaptiveFiltering: true })
    .toBuffer();
}

/** Renders a spec to SVG and PNG. */
export async function renderPlot(spec: PlotSpec, options: { scale?: number } = {}): Promise<RenderedPlot> {
  const svg = await renderSvg(spec);
  return { svg, png: await svgToPng(svg, options.scale) };
}

function resolvePaths(paths: PlotPaths): WrittenPlot {
  if (typeof paths === 'string') {
    if (paths === '') throw new MetricsError('writePlot', 'empty output path');
    return { svg: `${paths}.svg`, png: `${paths}.png` };
  }
  if (!paths.svg && !paths.png)
    throw new MetricsError('writePlot', 'neither an svg nor a png path was given');
  return { svg: paths.svg, png: paths.png };
}

/** Writes an SVG string (and its PNG) atomically; see {@link writePlot}. */
export async function writeSvgAndPng(svg: string, paths: PlotPaths, scale = 1): Promise<WrittenPlot> {
  const out = resolvePaths(paths);
  if (out.svg) await writeFileAtomic(out.svg, svg);
  if (out.png) await writeFileAtomic(out.png, await svgToPng(svg, scale));
  return out;
}

/**
 * Renders `spec` and writes `base.svg` and `base.png` (or the paths given), each atomically
 * (temporary file, then rename), creating folders as needed. Returns the paths written.
 */
export async function writePlot(
  spec: PlotSpec,
  paths: PlotPaths,
  options: { scale?: number } = {},
): Promise<WrittenPlot> {
  return writeSvgAndPng(await renderSvg(spec), paths, options.scale);
}

/**
 * A ready-to-render plot: its Vega-Lite `spec`, its size at scale 1, and ways to get it as SVG,
 * as PNG, or written to files. Rendering happens on first use and the SVG is cached.
 */
export class Plot {
  /** Width of the SVG in CSS pixels (PNG width at scale 1). */
  readonly width: number;
  /** Height of the SVG in CSS pixels (PNG height at scale 1). */
  readonly height: number;
  private currentSpec: PlotSpec;
  private rendered?: Promise<string>;
  private readonly renderer: () => Promise<{ spec: PlotSpec; svg: string }>;

  /**
   * `render` may tune the spec (e.g. panel sizes) and returns the spec it settled on with its SVG;
   * by default the spec is rendered as is.
   */
  constructor(
    spec: PlotSpec,
    size: { width: number; height: number },
    render?: (spec: PlotSpec) => Promise<{ spec: PlotSpec; svg: string }>,
  ) {
    this.currentSpec = spec;
    this.width = size.width;
    this.height = size.height;
    this.renderer = render ? () => render(spec) : async () => ({ spec, svg: await renderSvg(spec) });
  }

  /** The Vega-Lite spec (after the first render: the one the SVG was made from). Open it in the Vega editor. */
  get spec(): PlotSpec {
    return this.currentSpec;
  }

  /** The plot as an SVG document. */
  svg(): Promise<string> {
    this.rendered ??= this.renderer().then(({ spec, svg }) => {
      this.currentSpec = spec;
      return svg;
    });
    return this.rendered;
  }

  /** The plot as a PNG; `scale` multiplies both sides (default 1: `width × height` pixels). */
  async png(scale = 1): Promise<Buffer> {
    return svgToPng(await this.svg(), scale);
  }

  /** Writes `base.svg` and `base.png` (or the given paths) atomically; returns the paths written. */
  async write(paths: PlotPaths, options: { scale?: number } = {}): Promise<WrittenPlot> {
    return writeSvgAndPng(await this.svg(), paths, options.scale);
  }
}

/**
 * Renders specs from `build(panelWidth, panelHeight)` until the whole SVG is exactly
 * `target.width × target.height`: for concatenated views Vega-Lite cannot fit the outer size,
 * only each panel's, so the panel size is corrected by the measured overhead (axes, titles,
 * legend) and the last odd pixel goes into the padding.
 */
export async function renderFitted(
  build: (
    panelWidth: number,
    panelHeight: number,
    extraPadding: { right: number; bottom: number },
  ) => PlotSpec,
  target: { width: number; height: number },
  grid: { columns: number; rows: number },
  guess: { width: number; height: number },
): Promise<{ spec: PlotSpec; svg: string }> {
  let panel = {
    width: Math.max(20, Math.round(guess.width)),
    height: Math.max(20, Math.round(guess.height)),
  };
  let extra = { right: 0, bottom: 0 };
  let spec = build(panel.width, panel.height, extra);
  let svg = await renderSvg(spec);
  for (let attempt = 0; attempt < 6; attempt++) {
    const got = svgSize(svg);
    const dw = target.width - got.width;
    const dh = target.height - got.height;
    if (dw === 0 && dh === 0) return { spec, svg };
    const stepW = Math.floor(dw / grid.columns);
    const stepH = Math.floor(dh / grid.rows);
    if (stepW === 0 && stepH === 0 && dw >= 0 && dh >= 0) {
      extra = { right: extra.right + dw, bottom: extra.bottom + dh };
    } else {
      panel = { width: Math.max(20, panel.width + stepW), height: Math.max(20, panel.height + stepH) };
    }
    spec = build(panel.width, panel.height, extra);
    svg = await renderSvg(spec);
  }
  const got = svgSize(svg);
  if (got.width === target.width && got.height === target.height) return { spec, svg };
  // Did not settle (e.g. tick labels that change with the size): stretch the drawing by the last pixel or two.
  return { spec, svg: setSvgSize(svg, target) };
}

/** Sets the root `<svg>` width and height, keeping its viewBox, so the drawing is scaled to fit exactly. */
function setSvgSize(svg: string, size: { width: number; height: number }): string {
  return svg.replace(/<svg\b[^>]*>/, (root) =>
    root
      .replace(/\swidth="[\d.]+"/, ` width="${size.width}"`)
      .replace(/\sheight="[\d.]+"/, ` height="${size.height}" preserveAspectRatio="none"`),
  );
}
