// Times this package's wasm Tanh kernel and fused tanh gradient against tfjs-backend-wasm's stock
// Tanh and tfjs's three-kernel gradient (Square, Sub, Multiply), interleaved (stock, ours, …) so
// load from other processes hits both alike. Build first:
//   pnpm turbo run build --filter=@lenet/backend && node packages/backend/scripts/ab-tanh.mjs [reps]
// Then one lenet5-classic training step (Adam, batch 64 and 256) with all of this package's
// kernels, without the fused gradient, and without both tanh kernels, interleaved the same way.
import os from 'node:os';
import { buildModel, getPreset } from '@lenet/models';
import * as tf from '@tensorflow/tfjs';
import {
  registerWasmTrainingKernels,
  unregisterWasmTrainingKernels,
  useBackend,
  wasmTrainingKernelNames,
} from '../dist/index.js';

const reps = Number(process.argv[2] ?? 30);
await useBackend('wasm', { registerWasmKernels: false });
await registerWasmTrainingKernels(['LenetTanhGrad']);
const stockTanh = tf.getKernel('Tanh', 'wasm');
unregisterWasmTrainingKernels();
await registerWasmTrainingKernels(['Tanh']);
const ourTanh = tf.getKernel('Tanh', 'wasm');
unregisterWasmTrainingKernels();
await registerWasmTrainingKernels(['LenetTanhGrad']); // the fused gradient kernel, run directly below

const setTanh = (config) => {
  tf.unregisterKernel('Tanh', 'wasm');
  tf.registerKernel(config);
};
const timeIt = (fn) => {
  const t0 = performance.now();
  tf.dispose(fn()); // wasm kernels run synchronously: the call is the kernel's time
  return performance.now() - t0;
};
const best = (t) => Math.min(...t);
const med = (t) => [...t].sort((a, b) => a - b)[t.length >> 1];
const fmt = (t, n) =>
  `best ${best(t).toFixed(3)} ms (${((1e6 * best(t)) / n).toFixed(2)} ns/elt, median ${med(t).toFixed(3)})`;

console.log(
  `${os.cpus()[0].model}, node ${process.version}, load ${os.loadavg()[0].toFixed(1)}, best of ${reps}`,
);
// LeNet-5 classic activations at batch 64 and 256 (C1, C3, F5, F6), a big and a small tensor.
const SHAPES = [[64, 28, 28, 6], [64, 10, 10, 16], [64, 120], [64, 84], [256, 28, 28, 6], [1 << 20], [1000]];
for (const shape of SHAPES) {
  const n = shape.reduce((a, b) => a * b, 1);
  const x = tf.randomNormal(shape, 0, 2, 'float32', 1);
  const dy = tf.randomNormal(shape, 0, 1, 'float32', 2);
  const y = tf.tanh(x);
  const t = { stock: [], ours: [], gradStock: [], gradOurs: [] };
  for (let r = -3; r < reps; r++) {
    const add = (k, ms) => r >= 0 && t[k].push(ms);
    setTanh(stockTanh);
    add(
      'stock',
      timeIt(() => tf.tanh(x)),
    );
    setTanh(ourTanh);
    add(
      'ours',
      timeIt(() => tf.tanh(x)),
    );
    // tfjs's registered Tanh gradient: dy·(1 − y²) as Square, Sub, Multiply.
    add(
      'gradStock',
      timeIt(() => tf.tidy(() => tf.mul(tf.sub(tf.scalar(1), tf.square(y)), dy))),
    );
    add(
      'gradOurs',
      timeIt(() => tf.engine().runKernel('LenetTanhGrad', { y, dy })),
    );
  }
  console.log(`[${shape.join(', ')}] (${n} elements)`);
  console.log(
    `  Tanh      stock ${fmt(t.stock, n)}\n            ours  ${fmt(t.ours, n)}  ×${(best(t.stock) / best(t.ours)).toFixed(1)}`,
  );
  console.log(
    `  gradient  stock ${fmt(t.gradStock, n)}\n            ours  ${fmt(t.gradOurs, n)}  ×${(best(t.gradStock) / best(t.gradOurs)).toFixed(1)}`,
  );
  tf.dispose([x, dy, y]);
}
setTanh(stockTanh);
unregisterWasmTrainingKernels();

// One training step of lenet5-classic per kernel set.
const all = wasmTrainingKernelNames();
const SETS = {
  all,
  'no fused grad': all.filter((k) => k !== 'LenetTanhGrad'),
  'stock tanh': all.filter((k) => k !== 'LenetTanhGrad' && k !== 'Tanh'),
};
const { spec } = getPreset('lenet5-classic');
for (const batch of [64, 256]) {
  const model = buildModel(spec, { seed: 1 });
  const x = tf.randomUniform([batch, 28, 28, 1], 0, 1, 'float32', 1);
  const labels = tf.oneHot(tf.randomUniform([batch], 0, 10, 'int32', 2), 10);
  const opt = tf.train.adam(1e-3);
  const step = () => {
    const loss = opt.minimize(
      () => tf.losses.softmaxCrossEntropy(labels, model.apply(x, { training: true })),
      true,
    );
    loss.dataSync();
    loss.dispose();
  };
  const use = async (set) => {
    unregisterWasmTrainingKernels();
    await registerWasmTrainingKernels(SETS[set]);
  };
  const times = Object.fromEntries(Object.keys(SETS).map((k) => [k, []]));
  for (const set of Object.keys(SETS)) {
    await use(set);
    step();
  }
  const rounds = Math.max(3, Math.round(reps / (batch / 32)));
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
  console.log(`lenet5-classic training step (Adam), batch ${batch}, ${rounds}×2 steps per set`);
  for (const [set, t] of Object.entries(times)) {
    console.log(
      `  ${set.padEnd(14)} best ${best(t).toFixed(1)} ms (${((1000 * batch) / best(t)).toFixed(0)} samples/s), ` +
        `median ${med(t).toFixed(1)} ms`,
    );
  }
  tf.dispose([x, labels]);
  opt.dispose();
  model.dispose();
}
unregisterWasmTrainingKernels();
