// A/B of issue 8's levers on one wasm training step (fit's step: @lenet/train's createTrainStep
// with Adam), interleaved so that load from other processes hits every set alike: all of
// @lenet/backend's training kernels, then all but one lever. Prints best and median ms/step per
// set. Build first:
//   pnpm exec turbo run build --filter=@lenet/train...
//   node packages/train/scripts/ab-levers.mjs <preset> <batch> [set,set,…]
// Sets: all, noPrune, noAdam, noTanh, noBroadcast (the last-axis broadcast and leading-axes
// reduction kernels), noSimd (every kernel, the SIMD module switched off: the JS paths).

import {
  registerWasmTrainingKernels,
  setSimdKernelsEnabled,
  unregisterWasmTrainingKernels,
  useBackend,
  wasmTrainingKernelNames,
} from '@lenet/backend';
import { getPreset } from '@lenet/models';
import { buildModel } from '@lenet/models/tf';
import { createTrainStep } from '../dist/index.js';
import * as tf from '../dist/tfjs.js';

const [name, b] = [process.argv[2], Number(process.argv[3])];
await useBackend('wasm');
const all = wasmTrainingKernelNames();
const BROADCAST = ['Add', 'Sub', 'Multiply', 'RealDiv', 'Sum', 'Mean'];
const allSets = {
  all,
  noPrune: all.filter((n) => n !== 'ConvInputGradPruning'),
  noAdam: all.filter((n) => n !== 'LenetAdamUpdate'),
  noTanh: all.filter((n) => n !== 'Tanh'),
  noBroadcast: all.filter((n) => !BROADCAST.includes(n)),
  noSimd: all,
};
const chosen = (process.argv[4] ?? 'all,noPrune,noAdam,noTanh').split(',');
const sets = Object.fromEntries(chosen.map((k) => [k, allSets[k]]));
const r = getPreset(name);
const spec = r.spec ?? r;
const model = buildModel(spec, { seed: 1 });
const x = tf.randomNormal([b, 28, 28, 1]);
const batch = {
  x: x.dataSync(),
  y: Int32Array.from({ length: b }, (_, i) => i % 10),
  shape: [b, 28, 28, 1],
};
x.dispose();
const times = Object.fromEntries(Object.keys(sets).map((k) => [k, []]));
for (let round = 0; round < 6; round++)
  for (const [k, set] of Object.entries(sets)) {
    unregisterWasmTrainingKernels();
    await registerWasmTrainingKernels(set);
    setSimdKernelsEnabled(k !== 'noSimd');
    const trainStep = createTrainStep(model, { optimizer: 'adam' });
    let i = 0;
    const step = () => trainStep.run(batch, 1e-3, i++);
    for (let w = 0; w < 10; w++) step();
    await trainStep.sums.read();
    const t0 = performance.now();
    for (let w = 0; w < 10; w++) step();
    await trainStep.sums.read();
    times[k].push((performance.now() - t0) / 10);
    trainStep.dispose();
  }
for (const [k, t] of Object.entries(times)) {
  t.sort((a, b) => a - b);
  console.log(name, b, k.padEnd(8), 'best', t[0].toFixed(2), 'median', t[3].toFixed(2), 'ms/step');
}
process.exit(0);
