// A/B of the compiled training step against TensorFlow.js autodiff on wasm (fit's step:
// createTrainStep with Adam), interleaved in one process so that load from other processes hits
// both alike: each round times a few steps of one, then of the other (the order alternates),
// each ended by a read of the running sums. Prints the median and best ms/step over the rounds,
// the speed-up of the medians, and the effective GFLOP/s (training ≈ 6 FLOPs per multiply-add of
// the conv and dense layers per sample, as flops.mjs counts). Build first:
//   pnpm exec turbo run build --filter=@lenet/train...
//   node packages/train/scripts/ab-compiled.mjs [rounds] [preset:batch ...]
// With AB=wide, both arms are compiled and differ in the wide SIMD convolutions (over 16
// channels, @lenet/backend's setWideConvEnabled): on, then off (XNNPACK and the previous filter
// gradient). With AB=winograd, both arms are compiled and differ in the Winograd convolutions
// (setWinogradEnabled): on, then off (the wide direct kernels); with AB=winograd-dw in the Winograd
// filter gradient alone (the wide one when off). Presets whose input is not MNIST's train on random images of their input shape.
import { setWideConvEnabled, setWinogradEnabled, useBackend } from '@lenet/backend';
import { batches, head, loadMnist } from '@lenet/datasets';
import { getPreset } from '@lenet/models';
import { buildModel } from '@lenet/models/tf';
import { createTrainStep } from '../dist/index.js';

const rounds = Number(process.argv[2] ?? 30);
const cells = (
  process.argv.length > 3 ? process.argv.slice(3) : ['lenet5:64', 'lenet5:256', 'torch-bn:64', 'torch-bn:256']
).map((c) => {
  const [preset, batch] = c.split(':');
  return { preset, batch: Number(batch) };
});
const STEPS_PER_ROUND = 5;
const winogradAb = process.env.AB === 'winograd';
const filterGradAb = process.env.AB === 'winograd-dw';
// Both arms compiled, one lever switched: the wide convolutions, Winograd, or Winograd's filter gradient alone.
const wideAb = process.env.AB === 'wide' || winogradAb || filterGradAb;
const setLever = filterGradAb
  ? (on) => setWinogradEnabled(true, undefined, on)
  : winogradAb
    ? setWinogradEnabled
    : setWideConvEnabled;
const lever = filterGradAb ? 'Winograd dW' : winogradAb ? 'Winograd' : 'wide';

/** Multiply-adds per sample of the conv and dense layers. */
function macsPerSample(model) {
  let macs = 0;
  for (const layer of model.layers) {
    const cls = layer.getClassName();
    const [kernel] = layer.getWeights();
    if (cls === 'Conv2D') {
      const [kh, kw, ci, co] = kernel.shape;
      macs += layer.outputShape[1] * layer.outputShape[2] * co * kh * kw * ci;
    } else if (cls === 'Dense') {
      macs += kernel.shape[0] * kernel.shape[1];
    }
  }
  return macs;
}

await useBackend('wasm');
const mnist = await loadMnist({ split: 'train' });
const median = (t) => [...t].sort((a, b) => a - b)[Math.floor(t.length / 2)];
console.log(`node ${process.version}, ${rounds} rounds of ${STEPS_PER_ROUND} steps per arm, interleaved`);
for (const { preset, batch } of cells) {
  const { spec } = getPreset(preset);
  const mnistShaped = spec.input.join() === '28,28,1';
  const list = mnistShaped
    ? [...batches(head(mnist, batch * 4), { batchSize: batch, layout: 'NHWC', normalize: 'unit' })]
    : Array.from({ length: 4 }, (_, k) => ({
        x: Float32Array.from(
          { length: batch * spec.input.reduce((a, b) => a * b, 1) },
          (_, i) => ((i * 7 + k) % 255) / 255,
        ),
        y: Uint8Array.from({ length: batch }, (_, i) => (i + k) % spec.classes),
      }));
  const arms = [true, false].map((on) => {
    setLever(!wideAb || on);
    const model = buildModel(spec, { seed: 1 });
    return {
      compiled: wideAb || on,
      wide: !wideAb || on,
      model,
      step: createTrainStep(model, { optimizer: 'adam', seed: 1, compiled: wideAb || on }),
      times: [],
      i: 0,
    };
  });
  const run = async (arm, steps) => {
    setLever(arm.wide);
    const t0 = performance.now();
    for (let s = 0; s < steps; s++) arm.step.run(list[arm.i % list.length], 1e-3, arm.i++);
    await arm.step.sums.read();
    return (performance.now() - t0) / steps;
  };
  for (const arm of arms) await run(arm, 5);
  for (let r = 0; r < rounds; r++) {
    for (const arm of r % 2 === 0 ? arms : [...arms].reverse())
      arm.times.push(await run(arm, STEPS_PER_ROUND));
  }
  const flops = 6 * macsPerSample(arms[0].model) * batch;
  setLever(true);
  const [c, a] = arms.map((arm) => ({
    med: median(arm.times),
    best: Math.min(...arm.times),
    path: arm.step.path.kind,
  }));
  const gflops = (ms) => (flops / (ms * 1e6)).toFixed(1);
  console.log(
    `${preset} b${batch}: ${wideAb ? `${lever} on` : 'compiled'} (${c.path}) median ${c.med.toFixed(2)} ms best ${c.best.toFixed(2)} ms = ${gflops(c.med)} GFLOP/s` +
      ` | ${wideAb ? `${lever} off` : 'autodiff'} (${a.path}) median ${a.med.toFixed(2)} ms best ${a.best.toFixed(2)} ms = ${gflops(a.med)} GFLOP/s | speed-up ${(a.med / c.med).toFixed(2)}x (best ${(a.best / c.best).toFixed(2)}x)`,
  );
  for (const arm of arms) {
    arm.step.dispose();
    arm.model.dispose();
  }
}
process.exit(0);
