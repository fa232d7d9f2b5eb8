/** Dense → Gemm, its rows permuted when a Flatten before it left the features channels-first. */
import { OnnxError } from '../errors.js';
import { activationOf, activationOps } from './activation.js';
import { permuteRows } from './flatten.js';
import { describe, type LayerConverter, namedWeights, need } from './shared.js';

export const convertDense: LayerConverter = ({ layer, config, shape, pendingPerm }) => {
  if (shape.kind !== 'flat') {
    throw new OnnxError(
      'UNSUPPORTED_LAYER',
      `${describe(layer)}: Dense on a rank-4 input [N, ${shape.h}, ${shape.w}, ${shape.c}] is not supported; add a Flatten or GlobalAveragePooling2D before it`,
    );
  }
  const weights = namedWeights(layer);
  const kernel = need(weights, 'kernel', layer);
  const [inFeatures, outFeatures] = kernel.shape;
  if (inFeatures !== shape.features) {
    throw new OnnxError(
      'UNSUPPORTED_LAYER',
      `${describe(layer)}: kernel expects ${inFeatures} inputs, gets ${shape.features}`,
    );
  }
  const weight = pendingPerm ? permuteRows(kernel.data, pendingPerm, outFeatures) : kernel.data;
  return {
    ops: [
      {
        kind: 'gemm',
        layer: layer.name,
        weight,
        inFeatures,
        outFeatures,
        bias: config.useBias === false ? null : need(weights, 'bias', layer).data,
      },
      ...activationOps(activationOf(config.activation ?? 'linear', layer), layer, null),
    ],
    shape: { kind: 'flat', features: outFeatures },
    pendingPerm: null,
  };
};
