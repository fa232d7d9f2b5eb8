// Steady-state time of fit's step (variableGrads + @lenet/train's Adam) on wasm, one thread,
// random data: 50 warm-up steps, then the mean over 200. Short enough to run under a profiler
// (node --cpu-prof). Build first: pnpm exec turbo run build --filter=@lenet/train...
//   node packages/train/scripts/step-time.mjs [preset] [batch] [--mnist] [--threads N]
import { useBackend } from '@lenet/backend';
import { buildModel, getPreset } from '@lenet/models';
import * as tf from '@tensorflow/tfjs';
import { createOptimizer, crossEntropySum } from '../dist/index.js';

await useBackend('wasm');
// --threads N: threads of the SIMD kernels (default: the machine's cores).
const threadsArg = process.argv.indexOf('--threads');
if (threadsArg > 0) {
  const { setWasmKernelThreads } = await import('@lenet/backend');
  await setWasmKernelThreads(Number(process.argv[threadsArg + 1]));
}
const model = buildModel(getPreset(process.argv[2] ?? 'torch-bn').spec, { seed: 1 });
const vars = model.trainableWeights.map((w) => w.read());
const opt = createOptimizer({ name: 'adam' }, vars);
const batch = Number(process.argv[3] ?? 64);
// --mnist: the first real MNIST training images (scaled to [0, 1]) instead of random normals.
let x = tf.randomNormal([batch, 28, 28, 1]);
if (process.argv.includes('--mnist')) {
  const { loadMnist } = await import('@lenet/datasets');
  const ds = await loadMnist({ split: 'train' });
  x = tf.tensor4d(
    Float32Array.from(ds.images.subarray(0, batch * 784), (v) => v / 255),
    [batch, 28, 28, 1],
  );
}
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
