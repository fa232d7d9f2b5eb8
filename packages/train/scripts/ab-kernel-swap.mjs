// A/B of SIMD kernels inside the compiled training step, on one kernel thread (the helper threads
// run their own instance, which this does not swap). Arm B runs either another export of the same
// module in place of one (`--swap=<export>=<other export>`) or every kernel from another build of
// the module (`--module=<simd-binary.ts of another commit>`, e.g. from `git show
// <commit>:packages/backend/src/wasm-kernels/simd-binary.ts`), instantiated over the same memory:
// the kernels keep no state of their own. Both arms are the same step, interleaved in one process
// (rounds of 5 steps, the order alternating), so load hits both alike; prints the median and best
// ms/step and the effective GFLOP/s. Build first:
//   pnpm exec turbo run build --filter=@lenet/train...
//   node packages/train/scripts/ab-kernel-swap.mjs (--swap=A=B | --module=FILE) [--rounds=N] [preset:batch ...]
// e.g. --module=<(git show 9036417:packages/backend/src/wasm-kernels/simd-binary.ts) lenet5:64
import { readFileSync } from 'node:fs';
import { setWasmKernelThreads, useBackend } from '@lenet/backend';
import { batches, head, loadMnist } from '@lenet/datasets';
import { buildModel } from '@lenet/models/tf';
import { createTrainStep } from '../dist/index.js';
import { cellSpec, parseCells } from './cells.mjs';

const args = process.argv.slice(2);
const flag = (name) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const [target, replacement] = (flag('swap') ?? '').split('=');
const moduleFile = flag('module');
if (!moduleFile && (!target || !replacement))
  throw new Error('usage: --swap=<export>=<other export> or --module=<simd-binary.ts>');
const rounds = Number(flag('rounds') ?? 20);
const cells = parseCells(args);
const STEPS = 5;

await useBackend('wasm');
await setWasmKernelThreads(1);
const mnist = await loadMnist({ split: 'train' });
const median = (t) => [...t].sort((a, b) => a - b)[Math.floor(t.length / 2)];
const macsPerSample = (spec) => {
  const model = buildModel(spec, { seed: 1 });
  let macs = 0;
  for (const layer of model.layers) {
    const [kernel] = layer.getWeights();
    if (layer.getClassName() === 'Conv2D') {
      const [kh, kw, ci, co] = kernel.shape;
      macs += layer.outputShape[1] * layer.outputShape[2] * co * kh * kw * ci;
    } else if (layer.getClassName() === 'Dense') macs += kernel.shape[0] * kernel.shape[1];
  }
  model.dispose();
  return macs;
};
console.log(
  `node ${process.version}, 1 kernel thread, ${rounds} rounds of ${STEPS} steps per arm; B: ${moduleFile ?? `${target} -> ${replacement}`}`,
);
for (const { preset, batch } of cells) {
  const spec = cellSpec(preset);
  const list = [...batches(head(mnist, batch * 4), { batchSize: batch, layout: 'NHWC', normalize: 'unit' })];
  const arms = ['A', 'B'].map((name) => {
    const model = buildModel(spec, { seed: 1 });
    const step = createTrainStep(model, { optimizer: 'adam', seed: 1 });
    if (step.path.kind !== 'compiled') throw new Error(`${preset}: ${step.path.reason}`);
    return { name, model, step, times: [], i: 0 };
  });
  // Private fields, read for this measurement only: the net's SIMD kernels and their exports.
  const simd = arms[0].step.compiled.net.simd;
  const original = simd.fn;
  let swapped;
  if (moduleFile) {
    const literal = /LENET_SIMD_WASM_BASE64 =([\s\S]*?);/.exec(readFileSync(moduleFile, 'utf8'))[1];
    const base64 = [...literal.matchAll(/'([^']*)'/g)].map((m) => m[1]).join('');
    const module = new WebAssembly.Module(Buffer.from(base64, 'base64'));
    swapped = new WebAssembly.Instance(module, { env: { memory: simd.wasm.memory } }).exports;
  } else {
    if (typeof original[replacement] !== 'function') throw new Error(`no export ${replacement}`);
    swapped = { ...original, [target]: original[replacement] };
  }
  const run = async (arm, steps) => {
    simd.fn = arm.name === 'B' ? swapped : original;
    const t0 = performance.now();
    for (let s = 0; s < steps; s++) arm.step.run(list[arm.i % list.length], 1e-3, arm.i++);
    await arm.step.sums.read();
    simd.fn = original;
    return (performance.now() - t0) / steps;
  };
  for (const arm of arms) for (let w = 0; w < 10; w++) await run(arm, 5);
  for (let r = 0; r < rounds; r++)
    for (const arm of r % 2 === 0 ? arms : [...arms].reverse()) arm.times.push(await run(arm, STEPS));
  const flops = 6 * macsPerSample(spec) * batch;
  const [a, b] = arms.map((arm) => ({ med: median(arm.times), best: Math.min(...arm.times) }));
  const gf = (ms) => (flops / (ms * 1e6)).toFixed(1);
  console.log(
    `${preset} b${batch}: A median ${a.med.toFixed(2)} ms best ${a.best.toFixed(2)} (${gf(a.med)} GFLOP/s) | B median ${b.med.toFixed(2)} best ${b.best.toFixed(2)} (${gf(b.med)} GFLOP/s) | A/B speed-up ${(b.med / a.med).toFixed(2)}x`,
  );
  for (const arm of arms) {
    arm.step.dispose();
    arm.model.dispose();
  }
}
