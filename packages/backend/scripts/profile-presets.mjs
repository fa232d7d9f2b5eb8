// Profiles one training step (tf.profile) of some @lenet/models presets on wasm with this
// package's kernels and prints where the time goes. Build first:
//   pnpm turbo run build --filter=@lenet/backend --filter=@lenet/models
//   node packages/backend/scripts/profile-presets.mjs [batch] [preset ...]
import { getPreset } from '@lenet/models';
import { buildModel } from '@lenet/models/tf';
import { registerWasmTrainingKernels, unregisterWasmTrainingKernels, useBackend } from '../dist/index.js';
import * as tf from '../dist/tfjs.js';

const batch = Number(process.argv[2] ?? 64);
const names = process.argv.slice(3).length > 0 ? process.argv.slice(3) : ['lenet5', 'keras-bn', 'torch-bn'];
const stock = process.env.STOCK === '1';

await useBackend('wasm');
if (stock) {
  unregisterWasmTrainingKernels();
  await registerWasmTrainingKernels(['Conv2DBackpropFilter']);
}

for (const name of names) {
  const { spec } = getPreset(name);
  const model = buildModel(spec, { seed: 1 });
  const [h, w, c] = spec.input;
  const x = tf.randomUniform([batch, h, w, c], 0, 1, 'float32', 1);
  const y = tf.oneHot(tf.randomUniform([batch], 0, spec.classes, 'int32', 2), spec.classes);
  const opt = tf.train.sgd(0.01);
  const step = () => {
    const loss = opt.minimize(
      () => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true })),
      true,
    );
    loss.dataSync();
    loss.dispose();
  };
  step();
  step();
  const times = [];
  for (let i = 0; i < 7; i++) {
    const t0 = performance.now();
    step();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const profile = await tf.profile(step);
  const byKernel = new Map();
  let total = 0;
  for (const k of profile.kernels) {
    byKernel.set(k.name, (byKernel.get(k.name) ?? 0) + k.kernelTimeMs);
    total += k.kernelTimeMs;
  }
  const top = [...byKernel].sort((a, b) => b[1] - a[1]).slice(0, 14);
  console.log(
    `${name} batch ${batch}: median ${times[3].toFixed(1)} ms, best ${times[0].toFixed(1)} ms; kernels ${total.toFixed(1)} ms`,
  );
  console.log(`  ${top.map(([n, ms]) => `${n} ${ms.toFixed(1)}`).join(', ')}`);
  tf.dispose([x, y]);
  model.dispose();
  opt.dispose();
}
