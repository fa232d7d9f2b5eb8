// A/B of how long the kernels' helper thread polls for its next call before it sleeps
// (setKernelThreadSpin), on fit's compiled step (Adam) with 2 kernel threads, interleaved in one
// process (one helper throughout), best and median over rounds; the 0 arm runs first and last.
//   node packages/train/scripts/ab-spin.mjs [preset:batch ...]
import { setWasmKernelThreads, useBackend } from '@lenet/backend';
import { batches, head, loadMnist } from '@lenet/datasets';
import { buildModel } from '@lenet/models/tf';
import { setKernelThreadSpin } from '../../backend/dist/wasm-kernels/kernel-threads.js';
import { createTrainStep } from '../dist/index.js';
import { cellSpec, parseCells } from './cells.mjs';

const cells = parseCells(process.argv.slice(2), ['lenet5:64']);
await useBackend('wasm');
await setWasmKernelThreads(2);
const mnist = await loadMnist({ split: 'train' });
const arms = [0, 300, 600, 0];
const defaultSpin = setKernelThreadSpin(0);
for (const { preset, batch } of cells) {
  const list = [...batches(head(mnist, batch * 4), { batchSize: batch, layout: 'NHWC', normalize: 'unit' })];
  const model = buildModel(cellSpec(preset), { seed: 1 });
  const step = createTrainStep(model, { optimizer: 'adam', seed: 1 });
  let i = 0;
  for (let w = 0; w < 50; w++) step.run(list[i++ % 4], 1e-3, i);
  const times = arms.map(() => []);
  for (let r = 0; r < 15; r++) {
    for (const [a, spin] of arms.entries()) {
      setKernelThreadSpin(spin);
      for (let w = 0; w < 3; w++) step.run(list[i++ % 4], 1e-3, i);
      const steps = Math.max(5, Math.round(2000 / batch));
      const t0 = performance.now();
      for (let s = 0; s < steps; s++) step.run(list[i++ % 4], 1e-3, i);
      await step.sums.read();
      times[a].push((performance.now() - t0) / steps);
    }
  }
  for (const [a, spin] of arms.entries()) {
    const l = times[a].sort((p, q) => p - q);
    console.log(
      `${preset} b${batch} spin ${spin} µs: best ${l[0].toFixed(3)} median ${l[l.length >> 1].toFixed(3)} ms`,
    );
  }
  step.dispose();
  model.dispose();
}
setKernelThreadSpin(defaultSpin);
await setWasmKernelThreads(1);
