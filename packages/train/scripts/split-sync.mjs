// What the kernels' helper threads cost besides the kernels: the round trip of one empty helper
// call (wake a helper, wait for it) right after the previous one and after a pause long enough for
// the helper to be asleep, and how many split kernel calls one compiled training step makes.
//   node packages/train/scripts/split-sync.mjs [preset:batch ...]
import { setWasmKernelThreads, useBackend } from '@lenet/backend';
import { batches, head, loadMnist } from '@lenet/datasets';
import { buildModel } from '@lenet/models/tf';
import { kernelThreads } from '../../backend/dist/wasm-kernels/kernel-threads.js';
import { splitCalls, splitCopiedFloats } from '../../backend/dist/wasm-kernels/split.js';
import { createTrainStep } from '../dist/index.js';
import { cellSpec, parseCells } from './cells.mjs';

const cells = parseCells(process.argv.slice(2), ['lenet5:64', 'mlp2:64']);
await useBackend('wasm');
await setWasmKernelThreads(2);
const threads = kernelThreads();
const median = (t) => [...t].sort((a, b) => a - b)[Math.floor(t.length / 2)];
// An empty product (m = 0): the helper wakes, calls into wasm, returns at once.
const empty = [64, 0, 1, 64, 128, 0, 4, 4, 0, 0, 0];
const roundTrip = (pauseMs) => {
  const list = [];
  for (let r = 0; r < 200; r++) {
    if (pauseMs > 0) {
      const until = performance.now() + pauseMs;
      while (performance.now() < until);
    }
    const t0 = performance.now();
    threads.run(0, 'lenet_gemm', empty);
    threads.wait(0);
    list.push((performance.now() - t0) * 1000);
  }
  return median(list);
};
for (const pause of [0, 0.02, 0.1, 1]) {
  console.log(`empty helper call after a ${pause} ms pause: median ${roundTrip(pause).toFixed(1)} µs`);
}
const mnist = await loadMnist({ split: 'train' });
for (const { preset, batch } of cells) {
  const list = [...batches(head(mnist, batch * 4), { batchSize: batch, layout: 'NHWC', normalize: 'unit' })];
  const model = buildModel(cellSpec(preset), { seed: 1 });
  const step = createTrainStep(model, { optimizer: 'adam', seed: 1 });
  for (let i = 0; i < 10; i++) step.run(list[i % 4], 1e-3, i);
  const before = splitCalls();
  const floats = splitCopiedFloats();
  for (let i = 0; i < 20; i++) step.run(list[i % 4], 1e-3, i);
  await step.sums.read();
  const mb = ((splitCopiedFloats() - floats) * 4) / 20 / 1e6;
  console.log(
    `${preset} b${batch}: ${(splitCalls() - before) / 20} split kernel calls, ${mb.toFixed(2)} MB copied to and from the helper per step`,
  );
  step.dispose();
  model.dispose();
}
// What such copies cost: a TypedArray.set between the wasm heap and the shared memory.
{
  const heap = new Float32Array(1 << 20);
  threads.reserve(8 << 20);
  const shared = threads.view();
  for (const floats of [150_000, 1 << 20]) {
    const list = [];
    for (let r = 0; r < 50; r++) {
      const t0 = performance.now();
      shared.set(heap.subarray(0, floats), 16);
      heap.set(shared.subarray(16, 16 + floats));
      list.push(performance.now() - t0);
    }
    const gbs = (floats * 8) / (median(list) * 1e6);
    console.log(
      `copy ${((floats * 4) / 1e6).toFixed(2)} MB there and back: median ${(median(list) * 1000).toFixed(0)} µs (${gbs.toFixed(1)} GB/s)`,
    );
  }
}
await setWasmKernelThreads(1);
