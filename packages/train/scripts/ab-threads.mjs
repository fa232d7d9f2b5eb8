// A/B of the SIMD kernels' helper threads on fit's step (variableGrads + @lenet/train's Adam) on
// wasm, in one process: rounds of 40 steps alternating 1 thread and N threads, on real MNIST.
// Build first: pnpm exec turbo run build --filter=@lenet/train...
//   node packages/train/scripts/ab-threads.mjs [preset] [batch] [threads]
import { setWasmKernelThreads, useBackend } from '@lenet/backend';
import { loadMnist } from '@lenet/datasets';
import { buildModel, getPreset } from '@lenet/models';
import * as tf from '@tensorflow/tfjs';
import { createOptimizer, crossEntropySum } from '../dist/index.js';

const preset = process.argv[2] ?? 'lenet5-classic';
const batch = Number(process.argv[3] ?? 64);
const threads = Number(process.argv[4] ?? 2);
await useBackend('wasm');
const model = buildModel(getPreset(preset).spec, { seed: 1 });
const vars = model.trainableWeights.map((w) => w.read());
const opt = createOptimizer('adam', vars);
const ds = await loadMnist({ split: 'train' });
const xs = [0, 1, 2, 3].map((j) =>
  tf.tensor4d(
    Float32Array.from(ds.images.subarray(j * batch * 784, (j + 1) * batch * 784), (v) => v / 255),
    [batch, 28, 28, 1],
  ),
);
const ys = [0, 1, 2, 3].map((j) =>
  tf.tensor1d(Int32Array.from(ds.labels.subarray(j * batch, (j + 1) * batch)), 'int32'),
);
let i = 0;
const step = () => {
  const k = i++ % 4;
  tf.tidy(() => {
    const { value, grads } = tf.variableGrads(
      () =>
        tf.div(
          crossEntropySum(model.apply(xs[k], { training: true }), ys[k], { classes: 10, fromLogits: false }),
          batch,
        ),
      vars,
    );
    opt.apply(
      vars.map((v) => grads[v.name]),
      1e-3,
    );
    return value;
  }).dataSync();
};
for (let w = 0; w < 60; w++) step();
const times = { 1: [], [threads]: [] };
for (let round = 0; round < 8; round++) {
  for (const t of [1, threads]) {
    await setWasmKernelThreads(t);
    for (let w = 0; w < 5; w++) step();
    const t0 = performance.now();
    for (let s = 0; s < 40; s++) step();
    times[t].push((performance.now() - t0) / 40);
  }
}
await setWasmKernelThreads(1);
for (const [t, list] of Object.entries(times)) {
  list.sort((a, b) => a - b);
  console.log(
    `${preset} batch ${batch}, ${t} thread(s): best ${list[0].toFixed(2)} median ${list[list.length >> 1].toFixed(2)} ms/step (${Math.round((batch * 1000) / list[list.length >> 1])} samples/s)`,
  );
}
