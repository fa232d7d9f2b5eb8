// A/B of the compiled inference pass keeping its weights transformed between calls
// (setInferencePackingEnabled: dense kernels packed in panels, products on panels split by
// columns, Winograd filter transforms kept) against the pass without (products on the weights as
// they are, filters transformed at every call): two nets compiled from one model, one of each,
// called in turns (arm order alternating per round) so load from other processes hits both alike;
// prints the median and best ms/call per arm and their ratio. Build first:
//   pnpm exec turbo run build --filter=@lenet/train...
//   node packages/train/scripts/ab-infer-packing.mjs [--rounds=N] [--threads=N] [preset:batch ...]
// The preset `vgg-dense` is vgg-cifar10's dense layers alone (2048 → 2500 → 1000 → 10), so that
// the convolutions' time does not drown the difference.
import {
  compileInferenceNet,
  setInferencePackingEnabled,
  setWasmKernelThreads,
  useBackend,
  wasmKernelThreads,
} from '@lenet/backend';
import { buildModel } from '@lenet/models/tf';
import { modelNetSpec } from '../dist/compiled-step.js';
import * as tf from '../dist/tfjs.js';
import { cellSpec, numberOption, parseCells } from './cells.mjs';

const args = process.argv.slice(2);
const rounds = numberOption(args, 'rounds', 15);
const CALLS = 10;
const cells = args
  .filter((a) => !a.startsWith('--'))
  .map((a) => a.split(':'))
  .map(([preset, b]) => ({ preset, batch: Number(b) }));
if (cells.length === 0)
  cells.push(...parseCells([], ['vgg-dense:64', 'vgg-dense:256', 'mlp2:64', 'mlp2:256']));
await useBackend('wasm');
const threads = numberOption(args, 'threads', 0);
if (threads > 0) await setWasmKernelThreads(threads);
const { loadavg } = await import('node:os');
console.log(
  `kernel threads ${wasmKernelThreads()}, ${rounds} rounds of ${CALLS} calls, load ${loadavg()[0].toFixed(2)}`,
);
function vggDense() {
  const model = tf.sequential();
  model.add(tf.layers.flatten({ inputShape: [1, 1, 2048] }));
  model.add(tf.layers.dense({ units: 2500, activation: 'relu' }));
  model.add(tf.layers.dense({ units: 1000, activation: 'relu' }));
  model.add(tf.layers.dense({ units: 10, activation: 'softmax' }));
  return model;
}
const median = (t) => [...t].sort((a, b) => a - b)[Math.floor(t.length / 2)];
for (const { preset, batch } of cells) {
  const model = preset === 'vgg-dense' ? vggDense() : buildModel(cellSpec(preset), { seed: 1 });
  const [h, w, c] = preset === 'vgg-dense' ? [1, 1, 2048] : cellSpec(preset).input;
  const x = Float32Array.from({ length: batch * h * w * c }, () => Math.random());
  const { spec: netSpec } = modelNetSpec(model, { inference: true });
  const arms = [true, false].map((on) => {
    setInferencePackingEnabled(on);
    return { on, net: compileInferenceNet(netSpec), t: [] };
  });
  setInferencePackingEnabled(true);
  const [p0, p1] = arms.map((a) => a.net.probabilities(x, batch));
  let diff = 0;
  for (let i = 0; i < p0.length; i++) diff = Math.max(diff, Math.abs(p0[i] - p1[i]));
  for (let r = 0; r < rounds; r++) {
    for (const arm of r % 2 === 0 ? arms : [...arms].reverse()) {
      const t0 = performance.now();
      for (let k = 0; k < CALLS; k++) arm.net.probabilities(x, batch);
      arm.t.push((performance.now() - t0) / CALLS);
    }
  }
  const [on, off] = arms.map((a) => median(a.t));
  console.log(
    `${preset} b${batch}: packed ${on.toFixed(3)} ms (best ${Math.min(...arms[0].t).toFixed(3)}), plain ${off.toFixed(3)} ms (best ${Math.min(...arms[1].t).toFixed(3)}), plain/packed ${(off / on).toFixed(3)}, max |Δp| ${diff.toExponential(1)}`,
  );
  for (const a of arms) a.net.dispose();
  model.dispose();
}
console.log(`load ${loadavg()[0].toFixed(2)}`);
process.exit(0);
