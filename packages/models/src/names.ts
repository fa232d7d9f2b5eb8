import type { LayerType, ModelSpec } from './spec.js';

/** The Keras/TensorFlow.js base name of each layer type (`conv2d` → `conv2d_1`, `conv2d_2`, …). */
export const kerasBaseNames: Record<LayerType, string> = {
  conv2d: 'conv2d',
  batchNorm: 'batch_normalization',
  dropout: 'dropout',
  activation: 'activation',
  maxPool: 'max_pooling2d',
  avgPool: 'average_pooling2d',
  globalAvgPool: 'global_average_pooling2d',
  flatten: 'flatten',
  dense: 'dense',
};

/**
 * The layer names the builder gives each spec layer: its `name` when set, otherwise the Keras base
 * name of its type with a 1-based counter per type (`conv2d_1`, `max_pooling2d_1`, `conv2d_2`, …).
 * They depend only on the spec, so saved weights and exported graphs keep the same names however
 * many models a process builds.
 */
export function layerNames(spec: Pick<ModelSpec, 'layers'>): string[] {
  const counters = new Map<string, number>();
  return spec.layers.map((layer) => {
    const base = kerasBaseNames[layer.type] ?? String(layer.type);
    const n = (counters.get(base) ?? 0) + 1;
    counters.set(base, n);
    return layer.name ?? `${base}_${n}`;
  });
}
