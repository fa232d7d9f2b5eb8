import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../dist/index.js';
import { simdKernels } from '../dist/wasm-kernels/simd.js';

await useBackend('wasm');
const s = simdKernels(tf.backend());
const x = process.env.ZX ? tf.zeros([64, 28, 28, 6]) : tf.randomNormal([64, 28, 28, 6]);
const dy = tf.randomNormal([64, 14, 14, 6]);
const dx = tf.zeros([64, 28, 28, 6]);
const cases = [
  [
    'max_pool_grad raw',
    () => s.fn.lenet_max_pool_grad(s.ptr(dy), s.ptr(x), s.ptr(dx), 64, 28, 28, 6, 14, 14, 2, 2, 2, 2, 0, 0),
  ],
  [
    'avg_pool_grad raw',
    () => s.fn.lenet_avg_pool_grad(s.ptr(dy), s.ptr(dx), 64, 28, 28, 6, 14, 14, 2, 2, 2, 2, 0, 0, 0.25),
  ],
  ['tanh_grad raw', () => s.fn.lenet_tanh_grad(s.ptr(x), s.ptr(x), s.ptr(dx), 64 * 28 * 28 * 6)],
];
for (const [name, f] of cases) {
  for (let i = 0; i < 30; i++) f();
  let best = 1e9;
  for (let r = 0; r < 10; r++) {
    const t0 = performance.now();
    for (let i = 0; i < 10; i++) f();
    best = Math.min(best, (performance.now() - t0) / 10);
  }
  console.log(name.padEnd(18), best.toFixed(3), 'ms');
}
const b = tf.backend();
for (const n of [64 * 28 * 28 * 6, 16 * 28 * 28 * 6, 64 * 14 * 14 * 6]) {
  let best = 1e9;
  for (let r = 0; r < 10; r++) {
    const t0 = performance.now();
    for (let i = 0; i < 10; i++) {
      const o = b.makeOutput([n], 'float32');
      b.disposeData(o.dataId);
    }
    best = Math.min(best, (performance.now() - t0) / 10);
  }
  console.log('alloc+free', n, best.toFixed(3), 'ms');
  best = 1e9;
  for (let r = 0; r < 10; r++) {
    const t0 = performance.now();
    for (let i = 0; i < 10; i++) {
      const o = b.makeOutput([n], 'float32');
      s.fn.lenet_tanh_grad(s.ptr(x), s.ptr(x), s.ptr(o), n);
      b.disposeData(o.dataId);
    }
    best = Math.min(best, (performance.now() - t0) / 10);
  }
  console.log('alloc+write+free', n, best.toFixed(3), 'ms');
}
