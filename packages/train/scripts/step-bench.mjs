// Training throughput of `fit` (samples/s) on real MNIST, per preset, batch size and worker count,
// plus an optional tf.profile breakdown of one single-threaded training step (kernel ms by name).
// Build first:  pnpm exec turbo run build --filter=@lenet/train...
//   node packages/train/scripts/step-bench.mjs [--presets lenet5,lenet5-classic,torch-bn]
//     [--batches 64,256] [--workers 1,2] [--steps 30] [--repeats 3] [--profile] [--backend wasm]
//     [--json out.json]
// Each cell runs `fit` for one warm-up epoch and `repeats` timed epochs of `steps` batches each
// over a fixed MNIST subset, and reports the best and median epoch samples/s (epoch time includes
// batch preparation, as in real training).
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { useBackend } from '@lenet/backend';
import { head, loadMnist } from '@lenet/datasets';
import { getPreset } from '@lenet/models';
import { buildModel } from '@lenet/models/tf';
import { createTrainStep, fit } from '../dist/index.js';
import * as tf from '../dist/tfjs.js';

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const list = (name, def) => opt(name, def).split(',').filter(Boolean);
const presets = list('presets', 'lenet5,lenet5-classic,torch-bn');
const batchSizes = list('batches', '64,256').map(Number);
const workerCounts = list('workers', '1').map(Number);
const steps = Number(opt('steps', '30'));
const repeats = Number(opt('repeats', '3'));
const backend = opt('backend', 'wasm');
const profile = args.includes('--profile');
const jsonOut = opt('json', '');

const info = await useBackend(backend);
const train = await loadMnist({ split: 'train' });
console.log(
  `machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, node ${process.version}, backend ${info.name}` +
    `${info.wasmSimd ? ' (SIMD)' : ''}, load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
);

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const results = [];

for (const preset of presets) {
  const { spec } = getPreset(preset);
  for (const batchSize of batchSizes) {
    const n = batchSize * steps;
    const data = head(train, n);
    for (const workers of workerCounts) {
      const model = buildModel(spec, { seed: 1 });
      const before = tf.memory().numTensors;
      const res = await fit(model, data, {
        epochs: repeats + 1,
        batchSize,
        optimizer: 'adam',
        seed: 1,
        spec,
        ...(workers > 1 ? { workers } : {}),
      });
      const rates = res.history.slice(1).map((h) => h.samplesPerSecond);
      const row = {
        preset,
        batchSize,
        workers,
        best: Math.max(...rates),
        median: median(rates),
        loss: res.history.at(-1).loss,
        tensorsLeaked: tf.memory().numTensors - before,
      };
      results.push(row);
      console.log(
        `${preset.padEnd(15)} batch ${String(batchSize).padStart(3)} workers ${workers}: ` +
          `best ${row.best.toFixed(0)} samples/s, median ${row.median.toFixed(0)} ` +
          `(${((1000 * batchSize) / row.median).toFixed(1)} ms/step), loss ${row.loss.toFixed(3)}`,
      );
      model.dispose();
    }
    if (profile) await profileStep(spec, preset, batchSize, data);
  }
}
if (jsonOut) writeFileSync(jsonOut, `${JSON.stringify({ loadavg: loadavg(), results }, null, 2)}\n`);

/** tf.profile of one training step as `fit` takes it (createTrainStep, Adam), kernel ms by name. */
async function profileStep(spec, preset, batchSize, data) {
  const model = buildModel(spec, { seed: 1 });
  const trainStep = createTrainStep(model, { optimizer: 'adam' });
  const S = 28 * 28;
  const xs = new Float32Array(batchSize * S);
  for (let i = 0; i < xs.length; i++) xs[i] = data.images[i] / 255;
  const batch = {
    x: xs,
    y: Int32Array.from(data.labels.subarray(0, batchSize)),
    shape: [batchSize, 28, 28, 1],
  };
  let i = 0;
  const step = () => trainStep.run(batch, 1e-3, i++);
  // Enough steps for V8 to optimise tfjs's JS and tier up the wasm kernels.
  for (let k = 0; k < 40; k++) step();
  await trainStep.sums.read();
  const p = await tf.profile(() => step());
  const byKernel = new Map();
  let total = 0;
  for (const k of p.kernels) {
    const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    const e = byKernel.get(k.name) ?? { ms: 0, calls: 0 };
    e.ms += ms;
    e.calls++;
    byKernel.set(k.name, e);
    total += ms;
  }
  const top = [...byKernel].sort((a, b) => b[1].ms - a[1].ms);
  console.log(
    `  profile ${preset} batch ${batchSize}: ${p.kernels.length} kernel calls, ${total.toFixed(1)} ms`,
  );
  console.log(
    `    ${top
      .slice(0, 16)
      .map(([name, e]) => `${name} ${e.ms.toFixed(1)} (${e.calls})`)
      .join(', ')}`,
  );
  if (args.includes('--profile-calls')) {
    for (const k of p.kernels) {
      if (k.kernelTimeMs >= 0.1) {
        console.log(
          `      ${k.name} ${k.kernelTimeMs.toFixed(2)} ms  in ${k.inputShapes.map((s) => `[${s}]`).join(' ')}`,
        );
      }
    }
  }
  trainStep.dispose();
  model.dispose();
}
