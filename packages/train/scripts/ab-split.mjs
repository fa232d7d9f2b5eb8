// A/B of the helper-thread split of the weight gradients xᵀ·dy on fit's compiled step (Adam),
// interleaved in one process, median and best over rounds: 1 kernel thread; 2 threads; 2 threads
// with the weight gradients on one thread. After the thread count changes, steps run for 150 ms
// before timing: a new helper's start (its isolate, its kernels) would otherwise load the first
// arm after it.
//   node packages/train/scripts/ab-split.mjs [--rounds=N] [preset:batch ...]
import { setWasmKernelThreads, useBackend, wasmKernelThreads } from '@lenet/backend';
import { batches, head, loadMnist } from '@lenet/datasets';
import { buildModel } from '@lenet/models/tf';
import { setGemmSplit } from '../../backend/dist/wasm-kernels/matmul.js';
import { createTrainStep } from '../dist/index.js';
import { cellSpec, parseCells } from './cells.mjs';

const cells = parseCells(process.argv.slice(2), ['lenet5:64', 'lenet5:256', 'mlp2:64', 'mlp2:256']);
await useBackend('wasm');
const mnist = await loadMnist({ split: 'train' });
const roundsArg = process.argv.find((a) => a.startsWith('--rounds='));
const rounds = roundsArg ? Number(roundsArg.slice(9)) : 15;
const arms = [
  ['1 thread', 1, true],
  ['2 threads', 2, true],
  ['2 threads, dW on one thread', 2, false],
];
for (const { preset, batch } of cells) {
  const list = [...batches(head(mnist, batch * 4), { batchSize: batch, layout: 'NHWC', normalize: 'unit' })];
  const model = buildModel(cellSpec(preset), { seed: 1 });
  const step = createTrainStep(model, { optimizer: 'adam', seed: 1 });
  let i = 0;
  const times = arms.map(() => []);
  for (let r = 0; r < rounds; r++) {
    for (const [a, [, t, dw]] of arms.entries()) {
      const changed = wasmKernelThreads() !== t;
      await setWasmKernelThreads(t);
      setGemmSplit(8e6, dw);
      const warm = performance.now() + (changed ? 150 : 0);
      for (let w = 0; w < 3 || performance.now() < warm; w++) step.run(list[i++ % 4], 1e-3, i);
      const steps = Math.max(5, Math.round(2000 / batch));
      const t0 = performance.now();
      for (let s = 0; s < steps; s++) step.run(list[i++ % 4], 1e-3, i);
      await step.sums.read();
      times[a].push((performance.now() - t0) / steps);
    }
  }
  for (const [a, [name]] of arms.entries()) {
    const l = times[a].sort((p, q) => p - q);
    console.log(
      `${preset} b${batch} ${name}: best ${l[0].toFixed(3)} median ${l[l.length >> 1].toFixed(3)} ms (${Math.round((batch * 1000) / l[l.length >> 1])} samples/s)`,
    );
  }
  step.dispose();
  model.dispose();
}
setGemmSplit(8e6, true);
await setWasmKernelThreads(1);
