// Times single gradient computations on wasm, stock kernels against this package's, interleaved
// (stock, ours, stock, ours, …) so load from other processes hits both alike. Build first:
//   pnpm turbo run build --filter=@lenet/backend && node packages/backend/scripts/ab-kernel-micro.mjs [reps]
import os from 'node:os';
import { registerWasmTrainingKernels, unregisterWasmTrainingKernels, useBackend } from '../dist/index.js';
import * as tf from '../dist/tfjs.js';

const reps = Number(process.argv[2] ?? 15);
await useBackend('wasm', { registerWasmKernels: false });

/** [label, kernel set that differs, make inputs, gradient to time] */
const CASES = [
  [
    'Conv2DBackpropInput LeNet C3: dy[64,8,8,16] k5 → dx[64,12,12,6]',
    'Conv2DBackpropInput',
    () => [tf.randomNormal([64, 12, 12, 6]), tf.randomNormal([5, 5, 6, 16])],
    ([x, w]) => tf.grad((a) => tf.conv2d(a, w, 1, 'valid'))(x),
  ],
  [
    'Conv2DBackpropInput keras conv2: x[64,16,16,32] k3 same → 64',
    'Conv2DBackpropInput',
    () => [tf.randomNormal([64, 16, 16, 32]), tf.randomNormal([3, 3, 32, 64])],
    ([x, w]) => tf.grad((a) => tf.conv2d(a, w, 1, 'same'))(x),
  ],
  [
    'MaxPoolGrad x[64,32,32,32] 2×2/2',
    'MaxPoolGrad',
    () => [tf.randomNormal([64, 32, 32, 32])],
    ([x]) => tf.grad((a) => tf.maxPool(a, 2, 2, 'valid'))(x),
  ],
  [
    'AvgPoolGrad LeNet S2: x[64,28,28,6] 2×2/2',
    'AvgPoolGrad',
    () => [tf.randomNormal([64, 28, 28, 6])],
    ([x]) => tf.grad((a) => tf.avgPool(a, 2, 2, 'valid'))(x),
  ],
  [
    'batch-norm gradient (train mode) x[64,32,32,32]',
    'LenetFusedBatchNormGrad',
    () => [tf.randomNormal([64, 32, 32, 32]), tf.ones([32]), tf.zeros([32])],
    ([x, s, o]) =>
      tf.grads((a, g, b) => {
        const m = tf.moments(a, [0, 1, 2]);
        return tf.batchNorm(a, m.mean, m.variance, b, g, 1e-3);
      })([x, s, o]),
  ],
];

async function setKernels(names) {
  unregisterWasmTrainingKernels();
  await registerWasmTrainingKernels(names);
}

console.log(
  `${os.cpus()[0].model}, node ${process.version}, load ${os.loadavg()[0].toFixed(1)}, best of ${reps}`,
);
for (const [label, kernel, make, grad] of CASES) {
  const inputs = make();
  const base = ['Conv2DBackpropFilter'];
  const sets = { stock: base, ours: [...base, kernel] };
  const times = { stock: [], ours: [] };
  const run = () => {
    const t0 = performance.now();
    const out = [grad(inputs)].flat();
    for (const t of out) t.dataSync();
    tf.dispose(out);
    return performance.now() - t0;
  };
  for (const set of Object.keys(sets)) {
    await setKernels(sets[set]);
    run();
  }
  for (let r = 0; r < reps; r++) {
    for (const set of Object.keys(sets)) {
      await setKernels(sets[set]);
      times[set].push(run());
    }
  }
  const best = (t) => Math.min(...t);
  const med = (t) => [...t].sort((a, b) => a - b)[t.length >> 1];
  console.log(
    `${label}\n  stock best ${best(times.stock).toFixed(2)} ms (median ${med(times.stock).toFixed(2)}), ` +
      `ours best ${best(times.ours).toFixed(2)} ms (median ${med(times.ours).toFixed(2)}), ` +
      `×${(best(times.stock) / best(times.ours)).toFixed(1)} at best`,
  );
  tf.dispose(inputs);
}
unregisterWasmTrainingKernels();
