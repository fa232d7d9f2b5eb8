import type { NetSpec } from '../compiled/net-spec.js';
import * as tf from '../tfjs.js';
import { randomArray } from './helpers.js';

type Layer = tf.layers.Layer;
const vars = (l: Layer) => l.weights.map((w) => w.read() as tf.Variable);

/**
 * A tfjs-layers model and the same network as a NetSpec over its variables: conv (padded,
 * strided), batch norm, dropout, relu/tanh, pooling that is not 2×2 (max 3×3/2, average 2×2/1),
 * 2×2 max pooling, flatten, dense with and without bias.
 */
export function network(seed: number): { model: tf.Sequential; spec: NetSpec } {
  const init = (k: number) => tf.initializers.glorotUniform({ seed: seed + k });
  const layers: Layer[] = [
    tf.layers.conv2d({
      inputShape: [13, 13, 2],
      filters: 5,
      kernelSize: 3,
      padding: 'same',
      kernelInitializer: init(1),
    }),
    tf.layers.batchNormalization({ momentum: 0.8, epsilon: 1e-4 }),
    tf.layers.dropout({ rate: 0.3, seed: 11 }),
    tf.layers.activation({ activation: 'relu' }),
    tf.layers.maxPooling2d({ poolSize: 3, strides: 2 }),
    tf.layers.conv2d({
      filters: 20,
      kernelSize: 2,
      strides: 1,
      activation: 'tanh',
      kernelInitializer: init(2),
    }),
    tf.layers.averagePooling2d({ poolSize: 2, strides: 1 }),
    tf.layers.maxPooling2d({ poolSize: 2, strides: 2 }),
    tf.layers.flatten(),
    tf.layers.dense({ units: 7, activation: 'relu', kernelInitializer: init(3) }),
    tf.layers.dense({ units: 6, useBias: false, kernelInitializer: init(4) }),
    tf.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: init(5) }),
  ];
  const model = tf.sequential({ layers });
  const [c1, bn, , , , c2, , , , d1, d2, d3] = layers;
  const [gamma, beta, movingMean, movingVariance] = vars(bn);
  const spec: NetSpec = {
    input: [13, 13, 2],
    layers: [
      {
        type: 'conv2d',
        kernel: vars(c1)[0],
        bias: vars(c1)[1],
        strides: [1, 1],
        padding: 'same',
        activation: 'linear',
      },
      { type: 'batchNorm', gamma, beta, movingMean, movingVariance, momentum: 0.8, epsilon: 1e-4 },
      { type: 'dropout', rate: 0.3 },
      { type: 'activation', activation: 'relu' },
      { type: 'pool', op: 'max', size: [3, 3], strides: [2, 2] },
      {
        type: 'conv2d',
        kernel: vars(c2)[0],
        bias: vars(c2)[1],
        strides: [1, 1],
        padding: 'valid',
        activation: 'tanh',
      },
      { type: 'pool', op: 'avg', size: [2, 2], strides: [1, 1] },
      { type: 'pool', op: 'max', size: [2, 2], strides: [2, 2] },
      { type: 'flatten' },
      { type: 'dense', kernel: vars(d1)[0], bias: vars(d1)[1], activation: 'relu' },
      { type: 'dense', kernel: vars(d2)[0], activation: 'linear' },
      { type: 'dense', kernel: vars(d3)[0], bias: vars(d3)[1], activation: 'softmax' },
    ],
  };
  return { model, spec };
}

/** Input floats per sample of {@link network}. */
export const INPUT = 13 * 13 * 2;

/** Nudges every variable away from its initial value (biases start at 0, which hides bias bugs). */
export function perturb(model: tf.LayersModel): void {
  model.weights.forEach((w, i) => {
    const v = w.read() as tf.Variable;
    tf.tidy(() => {
      v.assign(tf.add(v, tf.mul(tf.tensor(randomArray(v.size, 50 + i), v.shape), 0.05)));
    });
  });
}
