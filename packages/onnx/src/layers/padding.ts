/** Spatial padding: TensorFlow's `same`/`valid` arithmetic, and ZeroPadding2D. */
import { OnnxError } from '../errors.js';
import {
  describe,
  type Layer,
  type LayerConverter,
  pair,
  requireChannelsLast,
  requireImage,
} from './shared.js';

/** Output size and pads `[before, after]` of one spatial dimension, as TensorFlow computes them. */
export function spatialPadding(
  size: number,
  kernel: number,
  stride: number,
  dilation: number,
  padding: 'same' | 'valid',
): { out: number; before: number; after: number } {
  const effective = (kernel - 1) * dilation + 1;
  if (padding === 'valid') return { out: Math.floor((size - effective) / stride) + 1, before: 0, after: 0 };
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + effective - size, 0);
  const before = Math.floor(total / 2);
  return { out, before, after: total - before };
}

export function paddingMode(value: unknown, layer: Layer): 'same' | 'valid' {
  if (value === 'same' || value === 'valid') return value;
  throw new OnnxError(
    'UNSUPPORTED_LAYER',
    `${describe(layer)}: padding "${String(value)}" is not supported (same or valid)`,
  );
}

/** ZeroPadding2D → a constant Pad of height and width. */
export const convertZeroPadding2d: LayerConverter = ({ layer, config, shape, pendingPerm }) => {
  requireChannelsLast(config, layer);
  const img = requireImage(shape, layer);
  const p = config.padding as unknown;
  let pads: [number, number, number, number];
  if (Array.isArray(p) && Array.isArray(p[0])) {
    const [[t, b], [l, r]] = p as [[number, number], [number, number]];
    pads = [t, l, b, r];
  } else {
    const [ph, pw] = pair(p, layer, 'padding');
    pads = [ph, pw, ph, pw];
  }
  return {
    ops: [{ kind: 'pad', layer: layer.name, pads }],
    shape: { kind: 'image', c: img.c, h: img.h + pads[0] + pads[2], w: img.w + pads[1] + pads[3] },
    pendingPerm,
  };
};
