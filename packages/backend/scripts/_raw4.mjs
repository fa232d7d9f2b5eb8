import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../dist/index.js';

await useBackend('wasm');
const x = tf.randomNormal([64, 28, 28, 6]);
const dy = tf.randomNormal([64, 14, 14, 6]);
const k = tf.getKernel('AvgPoolGrad', 'wasm');
const b = tf.backend();
const cases = [
  [
    'runKernel',
    () =>
      tf
        .engine()
        .runKernel('AvgPoolGrad', { dy, input: x }, { filterSize: 2, strides: 2, pad: 'valid' })
        .dispose(),
  ],
  [
    'kernelFunc',
    () => {
      const o = k.kernelFunc({
        inputs: { dy, input: x },
        backend: b,
        attrs: { filterSize: 2, strides: 2, pad: 'valid' },
      });
      b.disposeData(o.dataId);
    },
  ],
];
for (let rep = 0; rep < 2; rep++)
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
