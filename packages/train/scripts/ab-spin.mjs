// A/B of how long the kernels' threads poll before they sleep: a helper for its next call
// (setKernelThreadSpin) and the calling thread for a helper's share (setKernelWaitSpin), and
// whether they poll only while Linux's runnable threads fit the cores (setKernelPollCheck), on fit's
// compiled step (Adam) with 2 kernel threads, interleaved in one process (one helper throughout),
// best and median over rounds; round 12's arm (600 µs, 0) runs first and last.
//   node packages/train/scripts/ab-spin.mjs [--arms=600/0,3000/3000/0,3000/3000/1,...] [preset:batch ...]
// (helper µs / caller µs / check 1 or 0; a missing check is the default, on)
import { setWasmKernelThreads, useBackend } from '@lenet/backend';
import { loadMnist } from '@lenet/datasets';
import { buildModel } from '@lenet/models/tf';
import {
  setKernelPollCheck,
  setKernelThreadSpin,
  setKernelWaitSpin,
} from '../../backend/dist/wasm-kernels/kernel-threads.js';
import { createTrainStep } from '../dist/index.js';
import { cellBatches, cellSpec, parseCells } from './cells.mjs';

const args = process.argv.slice(2);
const armsArg = args.find((a) => a.startsWith('--arms='));
const arms = (armsArg ? armsArg.slice(7) : '600/0,2000/2000,3000/3000,5000/5000,600/0')
  .split(',')
  .map((a) => a.split('/').map(Number));
const cells = parseCells(args, ['lenet5:64']);
await useBackend('wasm');
await setWasmKernelThreads(2);
const mnist = await loadMnist({ split: 'train' });
const defaultSpin = setKernelThreadSpin(0);
const defaultWait = setKernelWaitSpin(0);
const defaultCheck = setKernelPollCheck(true);
setKernelPollCheck(defaultCheck);
for (const { preset, batch } of cells) {
  const spec = cellSpec(preset);
  const list = cellBatches(spec, batch, mnist, 4);
  const model = buildModel(spec, { seed: 1 });
  const step = createTrainStep(model, { optimizer: 'adam', seed: 1 });
  let i = 0;
  for (let w = 0; w < 30; w++) step.run(list[i++ % 4], 1e-3, i);
  const times = arms.map(() => []);
  for (let r = 0; r < 12; r++) {
    for (const [a, [spin, wait, check = defaultCheck ? 1 : 0]] of arms.entries()) {
      setKernelThreadSpin(spin);
      setKernelWaitSpin(wait);
      setKernelPollCheck(check === 1);
      for (let w = 0; w < 3; w++) step.run(list[i++ % 4], 1e-3, i);
      const steps = Math.max(5, Math.round(2000 / batch));
      const t0 = performance.now();
      for (let s = 0; s < steps; s++) step.run(list[i++ % 4], 1e-3, i);
      await step.sums.read();
      times[a].push((performance.now() - t0) / steps);
    }
  }
  for (const [a, [spin, wait, check = defaultCheck ? 1 : 0]] of arms.entries()) {
    const l = times[a].sort((p, q) => p - q);
    console.log(
      `${preset} b${batch} helper ${spin} µs, caller ${wait} µs, check ${check}: best ${l[0].toFixed(3)} median ${l[l.length >> 1].toFixed(3)} ms`,
    );
  }
  step.dispose();
  model.dispose();
}
setKernelThreadSpin(defaultSpin);
setKernelWaitSpin(defaultWait);
setKernelPollCheck(defaultCheck);
await setWasmKernelThreads(1);
