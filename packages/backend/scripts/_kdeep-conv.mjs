// Times the convolutions of the Keras family and vgg-cifar10 (3×3, stride 1, 'same', 32–128
// channels) per shape on wasm: forward, input gradient and filter gradient, with the wide SIMD
// kernels (conv-wide.ts) on and off (off = XNNPACK for the forward pass and the input gradient),
// interleaved (off, on, off, on, …) so load from other processes hits both alike. Prints the
// median ms of each arm and GFLOP/s (2 FLOPs per multiply-add). With AB=winograd, the arms are
// the wide direct kernels and Winograd F(2×2, 3×3) and F(4×4, 3×3) forced on every layer
// (conv-winograd.ts; a shape too small for the tiles to pay runs the direct kernel in every arm),
// on the shapes with 16 or more input channels, forward and input gradient; with AB=winograd-dw,
// the filter gradient on those shapes, wide (direct) against Winograd F(4×4, 3×3); with
// AB=winograd-interior, the Winograd forward and input gradient with and without bound-free
// transforms of the tiles inside the image (setWinogradInteriorEnabled). Build first:
//   pnpm turbo run build --filter=@lenet/backend
//   node packages/backend/scripts/ab-conv-wide.mjs [reps] [threads] [batch ...]
import os from 'node:os';
import {
  setWasmKernelThreads,
  setWideConvEnabled,
  setWinogradEnabled,
  setWinogradInteriorEnabled,
  useBackend,
} from '/work/wt-kdeep/packages/backend/dist/index.js';
import * as tf from '/work/wt-kdeep/packages/backend/dist/tfjs.js';

const reps = Number(process.argv[2] ?? 9);
const threads = Number(process.argv[3] ?? 1);
const batches = process.argv.length > 4 ? process.argv.slice(4).map(Number) : [64, 256];
await useBackend('wasm');
await setWasmKernelThreads(threads);

/** [name, h (= w), ci, co]: every 3×3 'same' stride-1 conv of the presets. */
const SHAPES = [
  ['keras c1 / K', 28, 1, 32],
  ['keras c2', 14, 32, 64],
  ['keras c3', 7, 64, 64],
  ['keras-deep c4', 3, 64, 64],
];
const attrs = { strides: [1, 1], pad: 'same', dataFormat: 'NHWC', dimRoundingMode: null };
const OPS = {
  fwd: (x, w) => tf.conv2d(x, w, 1, 'same'),
  dx: (x, w, dy) =>
    tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: w }, { ...attrs, inputShape: x.shape }),
  dw: (x, w, dy) =>
    tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { ...attrs, filterShape: w.shape }),
};
const median = (t) => [...t].sort((a, b) => a - b)[t.length >> 1];
const filterGradAb = process.env.AB === 'winograd-dw';
const interiorAb = process.env.AB === 'winograd-interior';
const winogradAb = process.env.AB === 'winograd' || filterGradAb || interiorAb;
const ARMS = filterGradAb
  ? ['wide', 'F(4×4)']
  : interiorAb
    ? ['checked', 'interior']
    : winogradAb
      ? ['direct', 'F(2×2)', 'F(4×4)']
      : ['off', 'on'];
const TILES = { direct: undefined, 'F(2×2)': 2, 'F(4×4)': 4 };
const setArm = (arm) =>
  interiorAb
    ? setWinogradInteriorEnabled(arm === 'interior')
    : filterGradAb
      ? setWinogradEnabled(true, undefined, arm !== 'wide')
      : winogradAb
        ? setWinogradEnabled(arm !== 'direct', TILES[arm])
        : setWideConvEnabled(arm === 'on');
// The wide A/B measures the direct wide kernels (Winograd, on by default, runs in their place).
if (!winogradAb) setWinogradEnabled(false);

console.log(
  `${os.cpus()[0].model}, node ${process.version}, ${threads} kernel thread(s), load ${os.loadavg()[0].toFixed(1)}, median of ${reps}`,
);
const columns = [
  ...ARMS.map((a) => `${a} ms`),
  ...ARMS.map((a) => `${a} GFLOP/s`),
  ...ARMS.slice(1).map((a) => `${a} ÷ ${ARMS[0]} time`),
];
console.log(`| shape | batch | op | ${columns.join(' | ')} |`);
console.log(`| --- | --- | --- | ${columns.map(() => '---').join(' | ')} |`);
for (const batch of batches) {
  for (const [name, hw, ci, co] of SHAPES) {
    if (winogradAb && ci < 16) continue;
    const x = tf.randomNormal([batch, hw, hw, ci]);
    const w = tf.randomNormal([3, 3, ci, co]);
    const dy = tf.randomNormal([batch, hw, hw, co]);
    const flop = 2 * batch * hw * hw * 9 * ci * co;
    for (const [op, f] of Object.entries(OPS)) {
      if (op === 'dx' && ci < 4) continue; // the first layer's input gradient is never needed
      if ((op === 'dw' && winogradAb) !== filterGradAb) continue;
      const times = Object.fromEntries(ARMS.map((a) => [a, []]));
      const run = (arm) => {
        setArm(arm);
        const t0 = performance.now();
        // wasm kernels run inside the call (helper threads included); dataSync would add a slow
        // copy of the whole output (~30 ms for 6 MB), so the time is the call's.
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
      const ms = ARMS.map((a) => median(times[a]));
      const cells = [
        ...ms.map((t) => t.toFixed(2)),
        ...ms.map((t) => (flop / t / 1e6).toFixed(1)),
        ...ms.slice(1).map((t) => (t / ms[0]).toFixed(2)),
      ];
      console.log(`| ${name} ${hw}×${hw}×${ci}→${co} | ${batch} | ${op} | ${cells.join(' | ')} |`);
    }
    tf.dispose([x, w, dy]);
  }
}
setWinogradEnabled(true);
setWinogradInteriorEnabled(true);
setWideConvEnabled(true);
