/** Activations: a layer's `activation` option and the Activation, ReLU, LeakyReLU, ELU and Softmax layers. */
import { OnnxError } from '../errors.js';
import type { ActivationFn, IrOp } from '../ir.js';
import { describe, type Layer, type LayerConverter } from './shared.js';

const ACTIVATIONS: Record<string, ActivationFn | 'linear'> = {
  linear: 'linear',
  relu: 'relu',
  relu6: 'relu6',
  elu: 'elu',
  selu: 'selu',
  tanh: 'tanh',
  sigmoid: 'sigmoid',
  hardSigmoid: 'hardSigmoid',
  softplus: 'softplus',
  softsign: 'softsign',
  swish: 'swish',
  mish: 'mish',
  softmax: 'softmax',
  logSoftmax: 'logSoftmax',
};

/** The activation a layer config names; unsupported names are an {@link OnnxError}. */
export function activationOf(name: unknown, layer: Layer): ActivationFn | 'linear' {
  const fn = typeof name === 'string' ? ACTIVATIONS[name] : undefined;
  if (!fn) {
    throw new OnnxError(
      'UNSUPPORTED_LAYER',
      `${describe(layer)}: activation "${String(name)}" is not supported; supported: ${Object.keys(ACTIVATIONS).join(', ')}`,
    );
  }
  return fn;
}

/** The operations of an activation: none for `linear`. */
export function activationOps(
  fn: ActivationFn | 'linear',
  layer: Layer,
  pendingPerm: Int32Array | null,
  extra: { alpha?: number; max?: number } = {},
): IrOp[] {
  if (fn === 'linear') return [];
  if ((fn === 'softmax' || fn === 'logSoftmax') && pendingPerm) {
    throw new OnnxError(
      'UNSUPPORTED_MODEL',
      `${describe(layer)}: softmax over un-permuted flattened features`,
    );
  }
  return [{ kind: 'activation', layer: layer.name, fn, ...extra }];
}

export const convertActivation: LayerConverter = ({ layer, config, shape, pendingPerm }) => ({
  ops: activationOps(activationOf(config.activation, layer), layer, pendingPerm),
  shape,
  pendingPerm,
});

export const convertRelu: LayerConverter = ({ layer, config, shape, pendingPerm }) => {
  const max = config.maxValue as number | null | undefined;
  return {
    ops: activationOps('relu', layer, pendingPerm, max == null ? {} : { max }),
    shape,
    pendingPerm,
  };
};

export const convertLeakyRelu: LayerConverter = ({ layer, config, shape, pendingPerm }) => ({
  ops: activationOps('leakyRelu', layer, pendingPerm, { alpha: Number(config.alpha ?? 0.3) }),
  shape,
  pendingPerm,
});

export const convertElu: LayerConverter = ({ layer, config, shape, pendingPerm }) => ({
  ops: activationOps('elu', layer, pendingPerm, { alpha: Number(config.alpha ?? 1) }),
  shape,
  pendingPerm,
});

export const convertSoftmax: LayerConverter = ({ layer, config, shape, pendingPerm }) => {
  const axis = config.axis as number | undefined;
  if (axis != null && axis !== -1 && axis !== (shape.kind === 'image' ? 3 : 1)) {
    throw new OnnxError(
      'UNSUPPORTED_LAYER',
      `${describe(layer)}: softmax over axis ${axis} is not supported (only the last axis)`,
    );
  }
  return { ops: activationOps('softmax', layer, pendingPerm), shape, pendingPerm };
};
