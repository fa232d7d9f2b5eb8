// The single-thread compute rate of the wasm backend on the shapes LeNet-5 trains with:
// forward Conv2D (XNNPACK) and MatMul, in GFLOP/s (2 FLOPs per multiply-accumulate), best of 20.
//   node packages/train/scripts/wasm-gflops.mjs
import { useBackend } from '@lenet/backend';
import * as tf from '../dist/tfjs.js';

await useBackend('wasm');
const best = (f, n = 20) => {
  for (let i = 0; i < 3; i++) tf.tidy(f).dataSync();
  let b = Number.POSITIVE_INFINITY;
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const r = tf.tidy(f);
    r.dataSync();
    r.dispose();
    b = Math.min(b, performance.now() - t0);
  }
  return b;
};
const report = (what, macs, ms) =>
  console.log(`${what}: ${ms.toFixed(2)} ms, ${((2 * macs) / ms / 1e6).toFixed(1)} GFLOP/s`);
for (const batch of [64, 256]) {
  const x1 = tf.randomNormal([batch, 28, 28, 1]);
  const f1 = tf.randomNormal([5, 5, 1, 6]);
  report(
    `conv C1 batch ${batch} (28x28x1 -> 6, 5x5 same)`,
    batch * 28 * 28 * 6 * 25,
    best(() => tf.conv2d(x1, f1, 1, 'same')),
  );
  const x2 = tf.randomNormal([batch, 14, 14, 6]);
  const f2 = tf.randomNormal([5, 5, 6, 16]);
  report(
    `conv C3 batch ${batch} (14x14x6 -> 16, 5x5 valid)`,
    batch * 10 * 10 * 16 * 25 * 6,
    best(() => tf.conv2d(x2, f2, 1, 'valid')),
  );
  const a = tf.randomNormal([batch, 400]);
  const w = tf.randomNormal([400, 120]);
  report(
    `matmul F5 batch ${batch} (400 -> 120)`,
    batch * 400 * 120,
    best(() => tf.matMul(a, w)),
  );
  tf.dispose([x1, f1, x2, f2, a, w]);
}
