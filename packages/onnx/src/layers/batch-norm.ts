/** BatchNormalization over the channel axis (permuted along with the Dense a Flatten feeds). */
import { OnnxError } from '../errors.js';
import { permuteRows } from './flatten.js';
import { describe, type LayerConverter, namedWeights, need } from './shared.js';

export const convertBatchNorm: LayerConverter = ({ layer, config, shape, pendingPerm }) => {
  const rank = shape.kind === 'image' ? 4 : 2;
  const axis = config.axis as number | number[];
  const ax = Array.isArray(axis) && axis.length === 1 ? axis[0] : axis;
  if (ax !== -1 && ax !== rank - 1) {
    throw new OnnxError(
      'UNSUPPORTED_LAYER',
      `${describe(layer)}: normalisation axis ${JSON.stringify(axis)} is not supported (only the channel axis, -1)`,
    );
  }
  const weights = namedWeights(layer);
  const mean = need(weights, 'moving_mean', layer).data;
  const n = mean.length;
  const gamma = weights.get('gamma')?.data ?? new Float32Array(n).fill(1);
  const beta = weights.get('beta')?.data ?? new Float32Array(n);
  let variance = need(weights, 'moving_variance', layer).data;
  let [g, b, m] = [gamma, beta, mean];
  if (pendingPerm) {
    [g, b, m, variance] = [gamma, beta, mean, variance].map((v) => permuteRows(v, pendingPerm, 1));
  }
  return {
    ops: [
      {
        kind: 'batchNorm',
        layer: layer.name,
        gamma: g,
        beta: b,
        mean: m,
        variance,
        epsilon: Number(config.epsilon ?? 1e-3),
      },
    ],
    shape,
    pendingPerm,
  };
};
