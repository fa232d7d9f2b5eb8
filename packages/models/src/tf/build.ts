import { checkSpecLimits, type SpecLimits } from '../limits.js';
import { layerNames } from '../names.js';
import { checkBuildOptions } from '../options.js';
import { convPaddingPlan, pair } from '../shapes.js';
import type { ActivationName, Conv2dLayer, DenseLayer, InitializerName, ModelSpec } from '../spec.js';
import * as tf from '../tfjs.js';
import { validateSpec } from '../validate.js';

/**
 * Options of {@link buildModel}. The limits (`maxParams`, `maxActivations`, `maxLayers`) are
 * checked from the spec's shapes before any weight is allocated; see `DEFAULT_SPEC_LIMITS`.
 */
export interface BuildOptions extends SpecLimits {
  /**
   * Seed for every initialiser and dropout mask: the same seed gives the same weights. Each layer
   * gets its own seed derived from this one and its index. Unseeded (random) when absent.
   */
  seed?: number;
  /** Kernel initialiser of conv/dense layers followed by relu, elu or swish. Default `heNormal`. */
  reluInitializer?: InitializerName;
  /** Kernel initialiser of the other conv/dense layers (tanh, sigmoid, softmax, linear). Default `glorotUniform`. */
  otherInitializer?: InitializerName;
}

const RECTIFIERS: ReadonlySet<ActivationName> = new Set(['relu', 'elu', 'swish']);

/**
 * The activation that follows spec layer `index`: its own fused activation, or else the first
 * `activation` layer reached through BatchNorm and dropout layers (`'linear'` if none).
 */
export function followingActivation(spec: ModelSpec, index: number): ActivationName {
  const layer = spec.layers[index];
  if (
    (layer.type === 'conv2d' || layer.type === 'dense') &&
    layer.activation &&
    layer.activation !== 'linear'
  ) {
    return layer.activation;
  }
  for (let j = index + 1; j < spec.layers.length; j++) {
    const next = spec.layers[j];
    if (next.type === 'batchNorm' || next.type === 'dropout') continue;
    return next.type === 'activation' ? next.activation : 'linear';
  }
  return 'linear';
}

/** A 32-bit seed for layer `index`, well mixed from the build seed (murmur3 finaliser). */
function layerSeed(seed: number, index: number): number {
  let h = (Math.imul(seed | 0, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca6b)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

function initializer(
  name: InitializerName,
  seed: number | undefined,
): ReturnType<typeof tf.initializers.zeros> {
  switch (name) {
    case 'heNormal':
      return tf.initializers.heNormal({ seed });
    case 'heUniform':
      return tf.initializers.heUniform({ seed });
    case 'glorotUniform':
      return tf.initializers.glorotUniform({ seed });
    case 'glorotNormal':
      return tf.initializers.glorotNormal({ seed });
    case 'zeros':
      return tf.initializers.zeros();
  }
}

/**
 * Builds a `tf.Sequential` model from a spec. Shape inference runs first, so a spec that does not
 * fit its input, or is over a size limit (`maxParams`, `maxActivations`, `maxLayers`), fails with
 * a `SpecError` naming the layer before any tensor is made. Layer names
 * come from {@link layerNames}; `countParams()` equals the Keras-style total of `summary(spec)`.
 * Numeric conv padding follows `convPaddingPlan`: `'same'` where exactly equivalent, otherwise a
 * `zeroPadding2d` layer (named `<conv>_pad`) before a `'valid'` conv.
 */
export function buildModel(spec: ModelSpec, options: BuildOptions = {}): tf.LayersModel {
  checkBuildOptions(options);
  const s = validateSpec(spec);
  checkSpecLimits(s, options);
  const names = layerNames(s);
  const seedFor = (i: number): number | undefined =>
    options.seed === undefined ? undefined : layerSeed(Math.trunc(options.seed), i);
  const layers: tf.layers.Layer[] = [];
  const first = (): { inputShape?: number[] } => (layers.length === 0 ? { inputShape: [...s.input] } : {});
  /** What conv2d and dense layers share: bias, activation, kernel initialiser (He before rectifiers), name. */
  const weighted = (layer: Conv2dLayer | DenseLayer, i: number, name: string) => {
    const init =
      layer.kernelInitializer ??
      (RECTIFIERS.has(followingActivation(s, i))
        ? (options.reluInitializer ?? 'heNormal')
        : (options.otherInitializer ?? 'glorotUniform'));
    return {
      useBias: layer.useBias ?? true,
      activation: layer.activation ?? 'linear',
      kernelInitializer: initializer(init, seedFor(i)),
      biasInitializer: 'zeros' as const,
      name,
      ...first(),
    };
  };
  s.layers.forEach((layer, i) => {
    const name = names[i];
    switch (layer.type) {
      case 'conv2d': {
        const plan = convPaddingPlan(layer);
        if (plan.zeroPad > 0) {
          layers.push(tf.layers.zeroPadding2d({ padding: plan.zeroPad, name: `${name}_pad`, ...first() }));
        }
        layers.push(
          tf.layers.conv2d({
            filters: layer.filters,
            kernelSize: pair(layer.kernel),
            strides: pair(layer.stride ?? 1),
            padding: plan.padding,
            ...weighted(layer, i, name),
          }),
        );
        break;
      }
      case 'dense': {
        layers.push(tf.layers.dense({ units: layer.units, ...weighted(layer, i, name) }));
        break;
      }
      case 'batchNorm':
        layers.push(
          tf.layers.batchNormalization({
            momentum: layer.momentum ?? 0.99,
            epsilon: layer.epsilon ?? 1e-3,
            name,
            ...first(),
          }),
        );
        break;
      case 'dropout':
        layers.push(tf.layers.dropout({ rate: layer.rate, seed: seedFor(i), name, ...first() }));
        break;
      case 'activation':
        layers.push(tf.layers.activation({ activation: layer.activation, name, ...first() }));
        break;
      case 'maxPool':
      case 'avgPool': {
        const args = {
          poolSize: pair(layer.size),
          strides: pair(layer.stride ?? layer.size),
          padding: layer.padding ?? 'valid',
          name,
          ...first(),
        };
        layers.push(
          layer.type === 'maxPool' ? tf.layers.maxPooling2d(args) : tf.layers.averagePooling2d(args),
        );
        break;
      }
      case 'globalAvgPool':
        layers.push(tf.layers.globalAveragePooling2d({ name, ...first() }));
        break;
      case 'flatten':
        layers.push(tf.layers.flatten({ name, ...first() }));
        break;
    }
  });
  return tf.sequential({ name: s.name, layers });
}
