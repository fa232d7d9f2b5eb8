import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../dist/index.js';

await useBackend('wasm');
const x = tf.randomNormal([64, 28, 28, 6]);
const dy = tf.randomNormal([64, 14, 14, 6]);
const cases = [
  [
    'MaxPoolGrad',
    () =>
      tf
        .engine()
        .runKernel('MaxPoolGrad', { dy, input: x, output: dy }, { filterSize: 2, strides: 2, pad: 'valid' }),
  ],
  [
    'AvgPoolGrad',
    () => tf.engine().runKernel('AvgPoolGrad', { dy, input: x }, { filterSize: 2, strides: 2, pad: 'valid' }),
  ],
  ['MaxPool', () => tf.maxPool(x, 2, 2, 'valid')],
  ['AvgPool', () => tf.avgPool(x, 2, 2, 'valid')],
  [
    'Conv2D C1',
    () => tf.conv2d(tf.slice(x, [0, 0, 0, 0], [64, 28, 28, 1]), tf.ones([5, 5, 1, 6]), 1, 'same'),
  ],
  ['slice only', () => tf.slice(x, [0, 0, 0, 0], [64, 28, 28, 1])],
  [
    'Conv2D C3',
    () => tf.conv2d(tf.slice(x, [0, 0, 0, 0], [64, 14, 14, 6]), tf.ones([5, 5, 6, 16]), 1, 'valid'),
  ],
  ['FusedBatchNorm', () => tf.batchNorm(x, tf.zeros([6]), tf.ones([6]), tf.zeros([6]), tf.ones([6]), 1e-5)],
];
for (const [name, f] of cases) {
  for (let i = 0; i < 30; i++) tf.tidy(f);
  let best = 1e9;
  for (let r = 0; r < 10; r++) {
    const t0 = performance.now();
    for (let i = 0; i < 10; i++) tf.tidy(f);
    best = Math.min(best, (performance.now() - t0) / 10);
  }
  console.log(name.padEnd(16), best.toFixed(3), 'ms');
}
