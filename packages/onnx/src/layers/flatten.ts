/**
 * Flatten, and keeping Keras' channels-last flatten order in the channels-first graph: by
 * permuting the rows of the Dense after it, or by a Transpose before the Flatten.
 */
import { DROPPED, type LayerConverter } from './shared.js';

/** How the exporter reproduces Keras' channels-last Flatten order in the channels-first graph. */
export type FlattenStrategy = 'permute-weights' | 'transpose';

/** Layers that act element-wise (feature order does not matter to them). */
const ELEMENTWISE = new Set(['Activation', 'ReLU', 'LeakyReLU', 'ELU', ...DROPPED]);

/** Layers that may sit between Flatten and Dense when the Dense rows are permuted (BatchNorm is permuted too). */
const PERMUTABLE = new Set([...ELEMENTWISE, 'BatchNormalization']);

/**
 * Index map for Keras' channels-last flatten order: `perm[nchwIndex] = nhwcIndex`, so row `i` of a
 * Dense kernel reordered for an NCHW-flattened input is row `perm[i]` of the original.
 */
export function flattenPermutation(c: number, h: number, w: number): Int32Array {
  const perm = new Int32Array(c * h * w);
  for (let ch = 0; ch < c; ch++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) perm[(ch * h + y) * w + x] = (y * w + x) * c + ch;
    }
  }
  return perm;
}

/** The rows of a row-major matrix with `cols` columns, in the order `perm` gives. */
export function permuteRows(data: Float32Array, perm: Int32Array, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let i = 0; i < perm.length; i++)
    out.set(data.subarray(perm[i] * cols, perm[i] * cols + cols), i * cols);
  return out;
}

export const convertFlatten: LayerConverter = ({ layer, config, shape, pendingPerm, next, strategy }) => {
  if (shape.kind === 'flat') return { ops: [], shape, pendingPerm };
  const { c, h, w } = shape;
  const channelsFirst = config.dataFormat === 'channelsFirst';
  const orderMatters = !channelsFirst && c > 1 && h * w > 1 && strategy !== 'unsafe-nchw';
  let permute = false;
  if (orderMatters && strategy === 'permute-weights') {
    // Permute the next Dense's rows when only element-wise layers (or BatchNorm) come between.
    const dense = next.find((l) => !PERMUTABLE.has(l.getClassName()));
    permute = dense?.getClassName() === 'Dense';
  }
  return {
    ops: [{ kind: 'flatten', layer: layer.name, toChannelsLast: orderMatters && !permute }],
    shape: { kind: 'flat', features: c * h * w },
    pendingPerm: permute ? flattenPermutation(c, h, w) : pendingPerm,
  };
};
