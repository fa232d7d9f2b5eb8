// A/B of `evaluate` on wasm over the MNIST test set (10,000 images): the compiled forward pass
// against model.predict (`compiled: false`), and against model.predict with tfjs's stock
// FusedConv2D (XNNPACK's, as before this package registered its own), interleaved in one process
// so that load from other processes hits every arm alike; the arm order rotates each round.
// Prints the median and best samples/s per arm over the rounds and the speed-ups of the medians.
// Build first:
//   pnpm exec turbo run build --filter=@lenet/train...
//   node packages/train/scripts/ab-infer.mjs [rounds] [--threads=N] [preset:batch ...]
// With AB=winograd the arms are the compiled pass and model.predict, each with @lenet/backend's
// Winograd convolutions on and off (setWinogradEnabled; off = the wide direct kernels).
// --threads sets the wasm kernel threads (default: the cores, at most 4; 1 = no helper threads).
import { createRequire } from 'node:module';
import { setWasmKernelThreads, setWinogradEnabled, useBackend, wasmKernelThreads } from '@lenet/backend';
import { loadMnist } from '@lenet/datasets';
import { getPreset } from '@lenet/models';
import { buildModel } from '@lenet/models/tf';
import * as tf from '@tensorflow/tfjs-core';
import { evaluate } from '../dist/index.js';

// The wasm backend as @lenet/backend loads it, for its stock kernel.
const fromBackend = createRequire(createRequire(import.meta.url).resolve('@lenet/backend/package.json'));
await import(fromBackend.resolve('@tensorflow/tfjs-backend-wasm'));
const stockFusedConv = tf.getKernel('FusedConv2D', 'wasm');
await useBackend('wasm');
const oursFusedConv = tf.getKernel('FusedConv2D', 'wasm');
const useFusedConv = (config) => {
  tf.unregisterKernel('FusedConv2D', 'wasm');
  tf.registerKernel(config);
};

const rounds = Number(process.argv[2] ?? 7);
const threadsArg = process.argv.find((a) => a.startsWith('--threads='));
if (threadsArg) await setWasmKernelThreads(Number(threadsArg.slice('--threads='.length)));
const cellArgs = process.argv.slice(3).filter((a) => !a.startsWith('--'));
const cells = (
  cellArgs.length > 0
    ? cellArgs
    : ['lenet5:64', 'lenet5:256', 'torch-bn:64', 'torch-bn:256', 'keras-baseline:64', 'keras-baseline:256']
).map((c) => {
  const [preset, batch] = c.split(':');
  return { preset, batch: Number(batch) };
});
const test = await loadMnist({ split: 'test' });
const median = (t) => [...t].sort((a, b) => a - b)[Math.floor(t.length / 2)];
console.log(
  `node ${process.version}, ${wasmKernelThreads()} kernel thread(s), evaluate on ${test.count} images, ${rounds} rounds per arm, interleaved`,
);
const winogradAb = process.env.AB === 'winograd';
const arms = winogradAb
  ? [
      { name: 'compiled, Winograd', compiled: true, conv: oursFusedConv, winograd: true },
      { name: 'compiled, direct', compiled: true, conv: oursFusedConv, winograd: false },
      { name: 'model.predict, Winograd', compiled: false, conv: oursFusedConv, winograd: true },
      { name: 'model.predict, direct', compiled: false, conv: oursFusedConv, winograd: false },
    ]
  : [
      { name: 'compiled', compiled: true, conv: oursFusedConv, winograd: true },
      { name: 'model.predict', compiled: false, conv: oursFusedConv, winograd: true },
      { name: 'model.predict, stock FusedConv2D', compiled: false, conv: stockFusedConv, winograd: true },
    ];
for (const { preset, batch } of cells) {
  // One model per arm (same weights): the compiled pass is compiled per model, with the kernels
  // switched on when it was.
  const models = arms.map(() => buildModel(getPreset(preset).spec, { seed: 1 }));
  const rates = arms.map(() => []);
  const accuracy = arms.map(() => 0);
  const run = async (k) => {
    useFusedConv(arms[k].conv);
    setWinogradEnabled(arms[k].winograd);
    const t0 = performance.now();
    const r = await evaluate(models[k], test, { batchSize: batch, compiled: arms[k].compiled });
    const seconds = (performance.now() - t0) / 1000;
    accuracy[k] = r.accuracy;
    if (r.path.kind !== (arms[k].compiled ? 'compiled' : 'tfjs'))
      throw new Error(`${arms[k].name}: ${r.path.reason}`);
    return test.count / seconds;
  };
  for (let k = 0; k < arms.length; k++) await run(k);
  for (let r = 0; r < rounds; r++) {
    for (let j = 0; j < arms.length; j++) {
      const k = (j + r) % arms.length;
      rates[k].push(await run(k));
    }
  }
  const med = rates.map(median);
  console.log(
    `${preset} b${batch}: ` +
      arms
        .map((a, k) => `${a.name} ${med[k].toFixed(0)}/s (best ${Math.max(...rates[k]).toFixed(0)})`)
        .join(' | ') +
      (winogradAb
        ? ` | Winograd ÷ direct: compiled ${(med[0] / med[1]).toFixed(2)}x, model.predict ${(med[2] / med[3]).toFixed(2)}x`
        : ` | compiled ÷ model.predict ${(med[0] / med[1]).toFixed(2)}x, ÷ stock ${(med[0] / med[2]).toFixed(2)}x`) +
      ` | accuracy ${accuracy.map((a) => a.toFixed(4)).join(' / ')}`,
  );
  for (const m of models) m.dispose();
}
setWinogradEnabled(true);
useFusedConv(oursFusedConv);
process.exit(0);
