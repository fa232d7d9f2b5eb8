// A/B timing of one training step on wasm with different sets of this package's kernels,
// interleaved (A, B, C, A, B, C, …) so that load from other processes hits every set alike;
// reports the best and the median step per set. Build first:
//   pnpm turbo run build --filter=@lenet/backend --filter=@lenet/models
//   node packages/backend/scripts/ab-kernels.mjs <preset> [batch] [rounds]
// Sets: "min" = stock wasm + our Conv2DBackpropFilter (the least that trains), then each of our
// kernels added in turn.
import os from 'node:os';
import { getPreset } from '@lenet/models';
import { buildModel } from '@lenet/models/tf';
import { registerWasmTrainingKernels, unregisterWasmTrainingKernels, useBackend } from '../dist/index.js';
import * as tf from '../dist/tfjs.js';

const [name = 'lenet5', batchArg = '64', roundsArg = '8'] = process.argv.slice(2);
const batch = Number(batchArg);
const rounds = Number(roundsArg);
const SETS = {
  min: ['Conv2DBackpropFilter'],
  '+input': ['Conv2DBackpropFilter', 'Conv2DBackpropInput'],
  '+maxpool': ['Conv2DBackpropFilter', 'Conv2DBackpropInput', 'MaxPoolGrad'],
  '+avgpool': ['Conv2DBackpropFilter', 'Conv2DBackpropInput', 'MaxPoolGrad', 'AvgPoolGrad'],
  '+batchnorm': [
    'Conv2DBackpropFilter',
    'Conv2DBackpropInput',
    'MaxPoolGrad',
    'AvgPoolGrad',
    'LenetFusedBatchNormGrad',
  ],
};

await useBackend('wasm', { registerWasmKernels: false });
const { spec } = getPreset(name);
const model = buildModel(spec, { seed: 1 });
const [h, w, c] = spec.input;
const x = tf.randomUniform([batch, h, w, c], 0, 1, 'float32', 1);
const y = tf.oneHot(tf.randomUniform([batch], 0, spec.classes, 'int32', 2), spec.classes);
const opt = tf.train.sgd(0.001);
const step = () => {
  const loss = opt.minimize(() => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true })), true);
  loss.dataSync();
  loss.dispose();
};
async function use(set) {
  unregisterWasmTrainingKernels();
  await registerWasmTrainingKernels(SETS[set]);
}

const times = Object.fromEntries(Object.keys(SETS).map((k) => [k, []]));
for (const set of Object.keys(SETS)) {
  await use(set);
  step(); // warm up each set once (XNNPACK operator creation, JIT)
}
for (let r = 0; r < rounds; r++) {
  for (const set of Object.keys(SETS)) {
    await use(set);
    for (let i = 0; i < 2; i++) {
      const t0 = performance.now();
      step();
      times[set].push(performance.now() - t0);
    }
  }
}
console.log(
  `${name}, batch ${batch}, ${rounds}×2 steps per set; ${os.cpus()[0].model}, node ${process.version}, load ${os.loadavg()[0].toFixed(1)}`,
);
for (const [set, t] of Object.entries(times)) {
  t.sort((a, b) => a - b);
  const med = t[Math.floor(t.length / 2)];
  console.log(
    `  ${set.padEnd(11)} best ${t[0].toFixed(1).padStart(7)} ms  median ${med.toFixed(1).padStart(7)} ms  ${((batch * 1000) / t[0]).toFixed(0).padStart(6)} samples/s at best`,
  );
}
unregisterWasmTrainingKernels();
