// A/B of the fixed per-call costs of the compiled inference and training step (round 8), each
// lever with its internal switch on and off, interleaved in one process (arm order alternating
// per round), medians of the rounds. Build first:
//   pnpm exec turbo run build --filter=@lenet/train...
//   node packages/train/scripts/ab-fixed.mjs infer [--rounds=N] [--threads=N] [preset:batch ...]
//     modelClassifier(model).probabilities, back to back (as the bench's infer cell calls it),
//     with the buffers kept between calls and laid out at every call (setClassifierBufferReuse)
//   node packages/train/scripts/ab-fixed.mjs step --before=DIR [--rounds=N] [--threads=N] [preset:batch ...]
//     the benchmarks' train cell (createTrainStep with Adam on 4 cached batches, the sums read
//     after every step), this build against another one of this package (a copy of dist/ made
//     before a change, inside packages/train: `cp -r packages/train/dist packages/train/dist-before`)
import { setWasmKernelThreads, useBackend, wasmKernelThreads } from '@lenet/backend';
import { batches, head, loadMnist } from '@lenet/datasets';
import { buildModel } from '@lenet/models/tf';
import { modelClassifier } from '../dist/index.js';
import { setClassifierBufferReuse } from '../dist/model-classifier.js';
import { cellBatches, cellSpec, numberOption, parseCells } from './cells.mjs';

const [what, ...args] = process.argv.slice(2);
const rounds = numberOption(args, 'rounds', 9);
await useBackend('wasm');
const threads = numberOption(args, 'threads', 2);
if (threads > 0) await setWasmKernelThreads(threads);
const median = (t) => [...t].sort((a, b) => a - b)[Math.floor(t.length / 2)];
console.log(`node ${process.version}, kernel threads ${wasmKernelThreads()}, ${rounds} rounds`);

/**
 * Times `arms` (name → async function running `calls` calls), interleaved, and prints the medians
 * of wall time and of the process's CPU time per call (steadier on a shared machine) and what the
 * first arm saves.
 */
async function ab(label, calls, arms) {
  const names = Object.keys(arms);
  const wall = new Map(names.map((k) => [k, []]));
  const cpu = new Map(names.map((k) => [k, []]));
  for (let r = 0; r < rounds; r++) {
    for (const k of r % 2 === 0 ? names : [...names].reverse()) {
      await arms[k].before?.();
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      await arms[k].run();
      const t = performance.now() - t0;
      const c = process.cpuUsage(c0);
      wall.get(k).push(t / calls);
      cpu.get(k).push((c.user + c.system) / 1000 / calls);
    }
  }
  const line = (what, m) => {
    const [a, b] = names.map((k) => median(m.get(k)));
    return `${what} ${names[0]} ${a.toFixed(3)} ms, ${names[1]} ${b.toFixed(3)} ms, saves ${(b - a).toFixed(3)} ms (${((100 * (b - a)) / b).toFixed(1)} %)`;
  };
  console.log(`${label}, per call:\n  ${line('wall', wall)}\n  ${line('cpu ', cpu)}`);
}

if (what === 'infer') {
  const mnist = await loadMnist({ split: 'test' });
  for (const { preset, batch } of parseCells(args, ['lenet5:256', 'mlp2:64', 'vgg-cifar10:64'])) {
    const spec = cellSpec(preset);
    const model = buildModel(spec, { seed: 1 });
    const [h, w, c] = spec.input;
    const [b] = cellBatches(spec, batch, mnist);
    const input = { x: b.x, shape: b.shape };
    const clf = modelClassifier(model);
    const calls = Math.max(3, Math.round(400 / ((batch * (h * w * c)) / 784) ** 0.5));
    const arm = (reuse) => ({
      async before() {
        setClassifierBufferReuse(reuse);
        await new Promise((r) => setTimeout(r, 1)); // the previous arm's buffers go
        await clf.probabilities(input);
      },
      async run() {
        for (let k = 0; k < calls; k++) await clf.probabilities(input);
      },
    });
    await ab(`${preset} b${batch} (${calls} calls)`, calls, {
      kept: arm(true),
      'laid out per call': arm(false),
    });
    setClassifierBufferReuse(true);
    model.dispose();
  }
} else if (what === 'step') {
  const beforeDir = args.find((a) => a.startsWith('--before='))?.slice('--before='.length);
  if (!beforeDir) throw new Error('step: --before=DIR (a copy of dist/ from before the change)');
  const before = await import(new URL(`../${beforeDir}/index.js`, import.meta.url).href);
  const now = await import('../dist/index.js');
  const mnist = await loadMnist({ split: 'train' });
  for (const { preset, batch } of parseCells(args, ['lenet5:64', 'mlp2:64', 'lenet5:256'])) {
    const spec = cellSpec(preset);
    const list = [
      ...batches(head(mnist, batch * 4), { batchSize: batch, layout: 'NHWC', normalize: 'unit' }),
    ];
    const calls = Math.max(5, Math.round(3000 / batch));
    const arm = (lib) => {
      const model = buildModel(spec, { seed: 1 });
      const step = lib.createTrainStep(model, { optimizer: 'adam', seed: 1 });
      if (step.path.kind !== 'compiled') throw new Error(`${preset}: ${step.path.reason}`);
      let i = 0;
      return {
        async run() {
          for (let k = 0; k < calls; k++) {
            step.run(list[i % list.length], 1e-3, i++);
            await step.sums.read();
          }
        },
      };
    };
    const a = arm(now);
    const b = arm(before);
    for (let w = 0; w < 2; w++) {
      await a.run();
      await b.run();
    }
    await ab(`${preset} b${batch} (${calls} steps)`, calls, { now: a, before: b });
  }
} else {
  throw new Error('usage: ab-fixed.mjs infer|step [options] [preset:batch ...]');
}
process.exit(0);
