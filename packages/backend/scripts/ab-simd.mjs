// Times single wasm kernels with the SIMD kernels (csrc/lenet-kernels.c) on and off, interleaved
// (off, on, off, on, …) so load from other processes hits both alike. Build first:
//   pnpm turbo run build --filter=@lenet/backend && node packages/backend/scripts/ab-simd.mjs [reps]

import { setSimdKernelsEnabled, simdKernelsSupported, useBackend } from '../dist/index.js';
import * as tf from '../dist/tfjs.js';

const reps = Number(process.argv[2] ?? 15);
await useBackend('wasm');
if (!simdKernelsSupported()) throw new Error('this runtime cannot run the SIMD kernels');

const derFilter = (x, dy, filterShape, pad) =>
  tf
    .engine()
    .runKernel('Conv2DBackpropFilter', { x, dy }, { strides: 1, pad, dataFormat: 'NHWC', filterShape });
const derInput = (inputShape, dy, filter, pad) =>
  tf
    .engine()
    .runKernel('Conv2DBackpropInput', { dy, filter }, { strides: 1, pad, dataFormat: 'NHWC', inputShape });
const grad = (f) => (x) => tf.grad(f)(x);
/** [label, make inputs, computation to time] */
const CASES = [
  [
    'filter grad C1 x[64,28,28,1] k5 same → 6',
    () => [tf.randomNormal([64, 28, 28, 1]), tf.randomNormal([64, 28, 28, 6])],
    ([x, dy]) => derFilter(x, dy, [5, 5, 1, 6], 'same'),
  ],
  [
    'filter grad C3 x[64,14,14,6] k5 valid → 16',
    () => [tf.randomNormal([64, 14, 14, 6]), tf.randomNormal([64, 10, 10, 16])],
    ([x, dy]) => derFilter(x, dy, [5, 5, 6, 16], 'valid'),
  ],
  [
    'filter grad b256 C3',
    () => [tf.randomNormal([256, 14, 14, 6]), tf.randomNormal([256, 10, 10, 16])],
    ([x, dy]) => derFilter(x, dy, [5, 5, 6, 16], 'valid'),
  ],
  [
    'filter grad torch conv2 x[64,12,12,16] k3 valid → 32',
    () => [tf.randomNormal([64, 12, 12, 16]), tf.randomNormal([64, 10, 10, 32])],
    ([x, dy]) => derFilter(x, dy, [3, 3, 16, 32], 'valid'),
  ],
  [
    'input grad C3 dy[64,10,10,16] → dx[64,14,14,6]',
    () => [tf.randomNormal([64, 10, 10, 16]), tf.randomNormal([5, 5, 6, 16])],
    ([dy, w]) => derInput([64, 14, 14, 6], dy, w, 'valid'),
  ],
  [
    'input grad same k3 dy[64,16,16,64] → dx[64,16,16,32]',
    () => [tf.randomNormal([64, 16, 16, 64]), tf.randomNormal([3, 3, 32, 64])],
    ([dy, w]) => derInput([64, 16, 16, 32], dy, w, 'same'),
  ],
  [
    'conv C1 x[64,28,28,1] k5 same → 6',
    () => [tf.randomNormal([64, 28, 28, 1]), tf.randomNormal([5, 5, 1, 6])],
    ([x, w]) => tf.conv2d(x, w, 1, 'same'),
  ],
  [
    'conv C3 x[64,14,14,6] k5 valid → 16',
    () => [tf.randomNormal([64, 14, 14, 6]), tf.randomNormal([5, 5, 6, 16])],
    ([x, w]) => tf.conv2d(x, w, 1, 'valid'),
  ],
  [
    'conv torch1 x[64,28,28,1] k3 pad1 → 6',
    () => [tf.randomNormal([64, 28, 28, 1]), tf.randomNormal([3, 3, 1, 6])],
    ([x, w]) => tf.conv2d(x, w, 1, 1),
  ],
  [
    'conv torch2 x[64,14,14,6] k3 → 12',
    () => [tf.randomNormal([64, 14, 14, 6]), tf.randomNormal([3, 3, 6, 12])],
    ([x, w]) => tf.conv2d(x, w, 1, 'valid'),
  ],
  [
    'conv x[64,16,16,16] k3 same → 16',
    () => [tf.randomNormal([64, 16, 16, 16]), tf.randomNormal([3, 3, 16, 16])],
    ([x, w]) => tf.conv2d(x, w, 1, 'same'),
  ],
  [
    'conv x[64,16,16,32] k3 same → 32',
    () => [tf.randomNormal([64, 16, 16, 32]), tf.randomNormal([3, 3, 32, 32])],
    ([x, w]) => tf.conv2d(x, w, 1, 'same'),
  ],
  ['Tanh [64,28,28,6]', () => [tf.randomNormal([64, 28, 28, 6])], ([x]) => tf.tanh(x)],
  ['Tanh grad [64,28,28,6]', () => [tf.randomNormal([64, 28, 28, 6])], ([x]) => grad((a) => tf.tanh(a))(x)],
  ['Relu grad [64,28,28,6]', () => [tf.randomNormal([64, 28, 28, 6])], ([x]) => grad((a) => tf.relu(a))(x)],
  [
    'AvgPoolGrad [64,28,28,6] 2×2/2',
    () => [tf.randomNormal([64, 28, 28, 6])],
    ([x]) => grad((a) => tf.avgPool(a, 2, 2, 'valid'))(x),
  ],
  [
    'MaxPoolGrad [64,28,28,32] 2×2/2',
    () => [tf.randomNormal([64, 28, 28, 32])],
    ([x]) => grad((a) => tf.maxPool(a, 2, 2, 'valid'))(x),
  ],
];

function time(fn, inputs) {
  let best = Infinity;
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    const out = fn(inputs);
    out.dataSync();
    best = Math.min(best, performance.now() - t0);
    out.dispose();
  }
  return best;
}

console.log('case | SIMD off (best ms) | SIMD on | speed-up');
for (const [label, make, fn] of CASES) {
  const inputs = make();
  const off = [];
  const on = [];
  for (let r = 0; r < reps; r++) {
    setSimdKernelsEnabled(false);
    off.push(time(fn, inputs));
    setSimdKernelsEnabled(true);
    on.push(time(fn, inputs));
  }
  const a = Math.min(...off);
  const b = Math.min(...on);
  console.log(`${label} | ${a.toFixed(3)} | ${b.toFixed(3)} | ${(a / b).toFixed(2)}×`);
  tf.dispose(inputs);
}
