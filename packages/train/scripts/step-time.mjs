// Steady-state time of fit's step (@lenet/train's createTrainStep, Adam) on wasm, one thread,
// random data: 50 warm-up steps, then the mean over 200. Short enough to run under a profiler
// (node --cpu-prof). Build first: pnpm exec turbo run build --filter=@lenet/train...
//   node packages/train/scripts/step-time.mjs [preset] [batch] [--mnist] [--threads N]
import { useBackend } from '@lenet/backend';
import { getPreset } from '@lenet/models';
import { buildModel } from '@lenet/models/tf';
import { createTrainStep } from '../dist/index.js';
import * as tf from '../dist/tfjs.js';

await useBackend('wasm');
// --threads N: threads of the SIMD kernels (default: the machine's cores).
const threadsArg = process.argv.indexOf('--threads');
if (threadsArg > 0) {
  const { setWasmKernelThreads } = await import('@lenet/backend');
  await setWasmKernelThreads(Number(process.argv[threadsArg + 1]));
}
const model = buildModel(getPreset(process.argv[2] ?? 'torch-bn').spec, { seed: 1 });
const trainStep = createTrainStep(model, { optimizer: 'adam' });
const batch = Number(process.argv[3] ?? 64);
// --mnist: the first real MNIST training images (scaled to [0, 1]) instead of random normals.
let x;
if (process.argv.includes('--mnist')) {
  const { loadMnist } = await import('@lenet/datasets');
  const ds = await loadMnist({ split: 'train' });
  x = Float32Array.from(ds.images.subarray(0, batch * 784), (v) => v / 255);
} else {
  const noise = tf.randomNormal([batch, 28, 28, 1]);
  x = noise.dataSync();
  noise.dispose();
}
const data = { x, y: Int32Array.from({ length: batch }, (_, i) => i % 10), shape: [batch, 28, 28, 1] };
let i = 0;
const step = () => trainStep.run(data, 1e-3, i++);
for (let w = 0; w < 50; w++) step();
const t0 = performance.now();
for (let w = 0; w < 200; w++) step();
await trainStep.sums.read();
console.log(
  process.argv[2] ?? 'torch-bn',
  'batch',
  batch,
  'ms/step',
  ((performance.now() - t0) / 200).toFixed(2),
);
