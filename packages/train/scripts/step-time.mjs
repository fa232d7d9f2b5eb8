// Steady-state time of fit's step (variableGrads + @lenet/train's Adam) on wasm, one thread,
// random data: 50 warm-up steps, then the mean over 200. Short enough to run under a profiler
// (node --cpu-prof). Build first: pnpm exec turbo run build --filter=@lenet/train...
//   node packages/train/scripts/step-time.mjs [preset] [batch]
import { useBackend } from '@lenet/backend';
import { buildModel, getPreset } from '@lenet/models';
import * as tf from '@tensorflow/tfjs';
import { createOptimizer, crossEntropySum } from '../dist/index.js';

await useBackend('wasm');
const model = buildModel(getPreset(process.argv[2] ?? 'torch-bn').spec, { seed: 1 });
const vars = model.trainableWeights.map((w) => w.read());
const opt = createOptimizer({ name: 'adam' }, vars);
const batch = Number(process.argv[3] ?? 64);
const x = tf.randomNormal([batch, 28, 28, 1]);
const y = tf.tensor1d(
  Array.from({ length: batch }, (_, i) => i % 10),
  'int32',
);
const step = () =>
  tf.tidy(() => {
    const { value, grads } = tf.variableGrads(
      () =>
        tf.div(
          crossEntropySum(model.apply(x, { training: true }), y, { classes: 10, fromLogits: false }),
          batch,
        ),
      vars,
    );
    opt.apply(
      vars.map((v) => grads[v.name]),
      1e-3,
    );
    return value;
  });
for (let i = 0; i < 50; i++) step().dispose();
const t0 = performance.now();
for (let i = 0; i < 200; i++) step().dispose();
console.log(
  process.argv[2] ?? 'torch-bn',
  'batch',
  batch,
  'ms/step',
  ((performance.now() - t0) / 200).toFixed(2),
);
