import {
  backend_util,
  broadcastTo,
  div,
  type GradConfig,
  getBackend,
  getGradient,
  type NamedAttrMap,
  registerGradient,
  reshape,
  type Tensor,
  util,
} from '../tfjs.js';

/**
 * Mean's and Sum's gradient as a broadcast of dy to x's shape. tfjs's own multiplies dy by
 * `ones(x.shape)`, which it fills element by element in JS (~1.6 ms of a torch-bn step at batch
 * 64, for the batch-norm statistics); a broadcast is one Tile kernel. Same values. On other
 * backends `original` is kept.
 */
function broadcastGradient(original: GradConfig, mean: boolean): GradConfig {
  return {
    ...original,
    gradFunc: (dy: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
      const [x] = saved;
      const g = Array.isArray(dy) ? dy[0] : dy;
      if (getBackend() !== 'wasm' || x === undefined || x.dtype !== 'float32') {
        return original.gradFunc(dy, saved, attrs);
      }
      const axes = util.parseAxisParam(attrs.axis as number | number[], x.shape);
      const reduceSize = util.sizeFromShape(backend_util.computeOutAndReduceShapes(x.shape, axes)[1]);
      const expandedShape = x.shape.slice();
      for (const a of axes) expandedShape[a] = 1;
      return {
        x: () => {
          const spread = broadcastTo(reshape(g, expandedShape), x.shape);
          return mean ? div(spread, reduceSize) : spread;
        },
      };
    },
  };
}

/** tfjs's gradients that ours replace, while ours are in place. */
const originals = new Map<string, GradConfig>();

/** Routes Mean's and Sum's gradients to the broadcast on wasm. Idempotent. */
export function installReductionGradients(): void {
  for (const kernel of ['Mean', 'Sum']) {
    if (originals.has(kernel)) continue;
    const original = getGradient(kernel);
    if (original === undefined) continue;
    originals.set(kernel, original);
    registerGradient(broadcastGradient(original, kernel === 'Mean'));
  }
}

/** Puts tfjs's Mean and Sum gradients back. Returns true when they were replaced. */
export function restoreReductionGradients(): boolean {
  for (const original of originals.values()) registerGradient(original);
  const had = originals.size > 0;
  originals.clear();
  return had;
}
