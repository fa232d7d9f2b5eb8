// A/B of the SIMD kernels' helper threads on fit's step (@lenet/train's createTrainStep, Adam) on
// wasm, in one process: rounds of 40 steps alternating 1 thread and N threads, on real MNIST.
// Build first: pnpm exec turbo run build --filter=@lenet/train...
//   node packages/train/scripts/ab-threads.mjs [preset] [batch] [threads]
import { setWasmKernelThreads, useBackend } from '@lenet/backend';
import { loadMnist } from '@lenet/datasets';
import { getPreset } from '@lenet/models';
import { buildModel } from '@lenet/models/tf';
import { createTrainStep } from '../dist/index.js';

const preset = process.argv[2] ?? 'lenet5-classic';
const batch = Number(process.argv[3] ?? 64);
const threads = Number(process.argv[4] ?? 2);
await useBackend('wasm');
const model = buildModel(getPreset(preset).spec, { seed: 1 });
const trainStep = createTrainStep(model, { optimizer: 'adam' });
const ds = await loadMnist({ split: 'train' });
const batches = [0, 1, 2, 3].map((j) => ({
  x: Float32Array.from(ds.images.subarray(j * batch * 784, (j + 1) * batch * 784), (v) => v / 255),
  y: Int32Array.from(ds.labels.subarray(j * batch, (j + 1) * batch)),
  shape: [batch, 28, 28, 1],
}));
let i = 0;
const step = () => {
  trainStep.run(batches[i % 4], 1e-3, i);
  i++;
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
