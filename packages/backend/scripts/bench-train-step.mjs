// Times one LeNet-5 training step (SGD, batch 64, 28×28×1) on the cpu backend and on wasm
// with different sets of this package's kernels, and prints where the time goes (tf.profile).
// Run after `pnpm turbo run build --filter=@lenet/backend`:
//   node packages/backend/scripts/bench-train-step.mjs [batch] [steps]
import os from 'node:os';
import { getPreset, logitsSpec } from '@lenet/models';
import { buildModel } from '@lenet/models/tf';
import { registerWasmTrainingKernels, unregisterWasmTrainingKernels, useBackend } from '../dist/index.js';
import * as tf from '../dist/tfjs.js';

const batch = Number(process.argv[2] ?? 64);
const steps = Number(process.argv[3] ?? 10);

/** LeNet-5 as in 1998 (tanh, average pooling) from the presets, ending in logits. */
function lenet5() {
  return buildModel(logitsSpec(getPreset('lenet5-classic').spec), { seed: 1 });
}

async function measure(label, nSteps = steps) {
  const model = lenet5();
  const x = tf.randomUniform([batch, 28, 28, 1], 0, 1, 'float32', 1);
  const y = tf.oneHot(tf.randomUniform([batch], 0, 10, 'int32', 2), 10);
  const opt = tf.train.sgd(0.05);
  const step = () => {
    const loss = opt.minimize(() => tf.losses.softmaxCrossEntropy(y, model.apply(x)), true);
    loss.dataSync();
    loss.dispose();
  };
  for (let i = 0; i < Math.min(2, nSteps); i++) step(); // warm up (XNNPACK operator creation, JIT)
  const times = [];
  for (let i = 0; i < nSteps; i++) {
    const t0 = performance.now();
    step();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)];
  const best = times[0];
  const profile = await tf.profile(step);
  const byKernel = new Map();
  for (const k of profile.kernels) byKernel.set(k.name, (byKernel.get(k.name) ?? 0) + k.kernelTimeMs);
  const top = [...byKernel].sort((a, b) => b[1] - a[1]).slice(0, 8);
  console.log(
    `${label.padEnd(44)} median ${median.toFixed(1).padStart(7)} ms/step (best ${best.toFixed(1)})  ${((batch * 1000) / median).toFixed(0).padStart(6)} samples/s`,
  );
  console.log(`  profile: ${top.map(([n, ms]) => `${n} ${ms.toFixed(1)}`).join(', ')}`);
  tf.dispose([x, y]);
  model.dispose();
  opt.dispose();
}

console.log(
  `node ${process.version}, ${os.cpus().length} cores, ${os.cpus()[0].model}, batch ${batch}, ${steps} steps`,
);
await useBackend('cpu');
await measure('cpu', 2);
await useBackend('wasm', { registerWasmKernels: false });
await registerWasmTrainingKernels(['Conv2DBackpropFilter']);
await measure('wasm: stock kernels + our BackpropFilter');
await registerWasmTrainingKernels(['Conv2DBackpropFilter', 'Conv2DBackpropInput']);
await measure('wasm: + our BackpropInput');
await registerWasmTrainingKernels();
await measure('wasm: all our kernels');
unregisterWasmTrainingKernels();
