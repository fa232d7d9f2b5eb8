// A/B of the helper-thread levers on fit's compiled step (Adam), interleaved in one process,
// median and best over rounds: 1 kernel thread; 2 threads (weight gradients xᵀ·dy split); 2 threads
// with the weight gradients on one thread; 2 threads with the helper polling SPIN µs (default 100)
// for its next call before it sleeps. The 2-thread arms share one helper (not restarted).
//   node packages/train/scripts/ab-split.mjs [--rounds=N] [preset:batch ...]
import { setWasmKernelThreads, useBackend } from '@lenet/backend';
import { batches, head, loadMnist } from '@lenet/datasets';
import { buildModel } from '@lenet/models/tf';
import { setKernelThreadSpin } from '../../backend/dist/wasm-kernels/kernel-threads.js';
import { setGemmSplit } from '../../backend/dist/wasm-kernels/matmul.js';
import { createTrainStep } from '../dist/index.js';
import { cellSpec, parseCells } from './cells.mjs';

const cells = parseCells(process.argv.slice(2), ['lenet5:64', 'lenet5:256', 'mlp2:64', 'mlp2:256']);
await useBackend('wasm');
const mnist = await loadMnist({ split: 'train' });
const spin = Number(process.env.SPIN ?? 100);
const roundsArg = process.argv.find((a) => a.startsWith('--rounds='));
const rounds = roundsArg ? Number(roundsArg.slice(9)) : 15;
const arms = [
  ['1 thread', 1, true, 0],
  ['2 threads', 2, true, 0],
  ['2 threads, dW on one thread', 2, false, 0],
  [`2 threads, helper polls ${spin} µs`, 2, true, spin],
];
for (const { preset, batch } of cells) {
  const list = [...batches(head(mnist, batch * 4), { batchSize: batch, layout: 'NHWC', normalize: 'unit' })];
  const model = buildModel(cellSpec(preset), { seed: 1 });
  const step = createTrainStep(model, { optimizer: 'adam', seed: 1 });
  let i = 0;
  const times = arms.map(() => []);
  for (let r = 0; r < rounds; r++) {
    for (const [a, [, t, dw, poll]] of arms.entries()) {
      await setWasmKernelThreads(t);
      setGemmSplit(8e6, dw);
      setKernelThreadSpin(poll);
      for (let w = 0; w < 3; w++) step.run(list[i++ % 4], 1e-3, i);
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
setKernelThreadSpin(0);
setGemmSplit(8e6, true);
await setWasmKernelThreads(1);
