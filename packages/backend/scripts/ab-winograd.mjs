// Times the stride-1 3×3 convolutions of the Keras family and vgg-cifar10 with 16 or more input
// channels per shape on wasm: forward and input gradient, the wide direct kernels (conv-wide.ts)
// against Winograd F(2×2, 3×3) and F(4×4, 3×3) forced on every layer (conv-winograd.ts; a shape
// too small for the tiles to pay runs the direct kernel in every arm), interleaved (the arm
// order rotates each round) so load from other processes hits every arm alike. Prints the median
// ms of each arm and the time ratios to the direct kernel. Build first:
//   pnpm turbo run build --filter=@lenet/backend
//   node packages/backend/scripts/ab-winograd.mjs [reps] [threads] [batch ...]
import os from 'node:os';
import { setWasmKernelThreads, setWinogradEnabled, useBackend } from '../dist/index.js';
import * as tf from '../dist/tfjs.js';

const reps = Number(process.argv[2] ?? 9);
const threads = Number(process.argv[3] ?? 1);
const batches = process.argv.length > 4 ? process.argv.slice(4).map(Number) : [64, 256];
await useBackend('wasm');
await setWasmKernelThreads(threads);

/** [name, h (= w), ci, co]: every 3×3 'same' stride-1 conv of the presets with ci ≥ 16. */
const SHAPES = [
  ['keras c2', 14, 32, 64],
  ['keras c3', 7, 64, 64],
  ['keras-deep c4', 3, 64, 64],
  ['vgg c2', 32, 32, 32],
  ['vgg c3', 16, 32, 64],
  ['vgg c4', 16, 64, 64],
  ['vgg c5', 8, 64, 128],
  ['vgg c6', 8, 128, 128],
];
const attrs = { strides: [1, 1], pad: 'same', dataFormat: 'NHWC', dimRoundingMode: null };
const OPS = {
  fwd: (x, w) => tf.conv2d(x, w, 1, 'same'),
  dx: (x, w, dy) =>
    tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: w }, { ...attrs, inputShape: x.shape }),
};
const median = (t) => [...t].sort((a, b) => a - b)[t.length >> 1];

console.log(
  `${os.cpus()[0].model}, node ${process.version}, ${threads} kernel thread(s), load ${os.loadavg()[0].toFixed(1)}, median of ${reps}`,
);
console.log(
  '| shape | batch | op | direct ms | F(2×2) ms | F(4×4) ms | direct GFLOP/s | F(2×2) ÷ direct | F(4×4) ÷ direct |',
);
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
const ARMS = ['off', 2, 4];
for (const batch of batches) {
  for (const [name, hw, ci, co] of SHAPES) {
    const x = tf.randomNormal([batch, hw, hw, ci]);
    const w = tf.randomNormal([3, 3, ci, co]);
    const dy = tf.randomNormal([batch, hw, hw, co]);
    const flop = 2 * batch * hw * hw * 9 * ci * co;
    for (const [op, f] of Object.entries(OPS)) {
      const times = { off: [], 2: [], 4: [] };
      const run = (arm) => {
        setWinogradEnabled(arm !== 'off', arm === 'off' ? undefined : arm);
        const t0 = performance.now();
        const out = f(x, w, dy);
        const t = performance.now() - t0;
        out.dispose();
        return t;
      };
      for (const arm of ARMS) run(arm);
      for (let r = 0; r < reps; r++)
        for (let j = 0; j < ARMS.length; j++) {
          const arm = ARMS[(j + r) % ARMS.length];
          times[arm].push(run(arm));
        }
      const [off, f2, f4] = ARMS.map((a) => median(times[a]));
      console.log(
        `| ${name} ${hw}×${hw}×${ci}→${co} | ${batch} | ${op} | ${off.toFixed(2)} | ${f2.toFixed(2)} | ${f4.toFixed(2)} | ${(flop / off / 1e6).toFixed(1)} | ${(f2 / off).toFixed(2)} | ${(f4 / off).toFixed(2)} |`,
      );
    }
    tf.dispose([x, w, dy]);
  }
}
setWinogradEnabled(true);
