// Per-stage time of the compiled training step (fit's step: createTrainStep with Adam) on wasm:
// each layer's forward and backward, the softmax + loss on the host, and the update (clipping and
// Adam), as the median over rounds of the per-step time of each part. The parts are timed by
// wrapping the compiled net's stages, so the step runs exactly as in training; the sum of the parts
// is compared with the step timed unwrapped in the same rounds (interleaved). Build first:
//   pnpm exec turbo run build --filter=@lenet/train...
//   node packages/train/scripts/step-stages.mjs [--threads=N] [--rounds=N] [--ab=pool] [preset:batch ...]
// --ab=NAME runs every round with a switch off and on (in alternating order) and prints both.
// Presets whose input is not MNIST's shape are timed on uniform noise.
import { setWasmKernelThreads, useBackend, wasmKernelThreads } from '@lenet/backend';
import { loadMnist } from '@lenet/datasets';
import { buildModel } from '@lenet/models/tf';
import { createTrainStep } from '../dist/index.js';
import { abVariants, cellBatches, cellSpec, parseCells } from './cells.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const a = args.find((s) => s.startsWith(`--${name}=`));
  return a ? Number(a.slice(name.length + 3)) : dflt;
};
const rounds = opt('rounds', 15);
const STEPS = 5;
const variants = abVariants(args);
const cells = parseCells(args, ['lenet5-classic:64', 'lenet5:64', 'torch-bn-nodropout:64']);

await useBackend('wasm');
const threads = opt('threads', 0);
if (threads > 0) await setWasmKernelThreads(threads);
const mnist = await loadMnist({ split: 'train' });
const median = (t) => [...t].sort((a, b) => a - b)[Math.floor(t.length / 2)];
console.log(
  `node ${process.version}, kernel threads ${wasmKernelThreads()}, ${rounds} rounds of ${STEPS} steps`,
);

for (const { preset, batch } of cells) {
  const spec = cellSpec(preset);
  const list = cellBatches(spec, batch, mnist, 4);
  const names = spec.layers.map(
    (l, i) => `${i} ${l.type}${l.activation ? `/${l.activation}` : ''}${l.op ? `/${l.op}` : ''}`,
  );
  const acc = new Map();
  let timing = false;
  const add = (key, ms) => acc.set(key, (acc.get(key) ?? 0) + ms);
  const wrap = (obj, method, key) => {
    const orig = obj[method].bind(obj);
    obj[method] = (...a) => {
      if (!timing) return orig(...a);
      const t0 = performance.now();
      const r = orig(...a);
      add(key, performance.now() - t0);
      return r;
    };
  };
  // One model and step per variant, compiled with its switch set (some are read at compile time:
  // train-conv-pool), from the same seed.
  const setups = [];
  for (const variant of variants) {
    variant.set();
    const model = buildModel(spec, { seed: 1 });
    const step = createTrainStep(model, { optimizer: 'adam', seed: 1 });
    if (step.path.kind !== 'compiled') throw new Error(`${preset}: ${step.path.reason}`);
    // Private fields of the compiled step, read for profiling only.
    const cs = step.compiled;
    const net = cs.net;
    // A stage per layer, except a ConvPoolStage (the conv2d and the pooling after it) and a
    // BatchNormStage with its pool set (the batch norm, its dropout and relu when set, the pooling).
    let layer = 0;
    net.stages.forEach((s) => {
      const bnPool = s.constructor.name === 'BatchNormStage' && s.pool !== null;
      const count =
        s.constructor.name === 'ConvPoolStage' ? 2 : bnPool ? 2 + (s.relu ? 1 : 0) + (s.dropout ? 1 : 0) : 1;
      const taken = names.slice(layer, layer + count);
      const name = [taken[0], ...taken.slice(1).map((n) => n.replace(/^\d+ /, ''))].join(' + ');
      layer += count;
      wrap(s, 'forward', `F ${name}`);
      wrap(s, 'backward', `B ${name}`);
    });
    wrap(net, 'softmax', 'softmax');
    wrap(net, 'applyUpdate', 'update (clip + adam + new weight tensors)');
    wrap(cs, 'update', '  of which adam');
    let i = 0;
    // The sums are read after the timed steps (fit reads them once an epoch): the rest is the step's.
    const run = async (steps) => {
      const t0 = performance.now();
      for (let s = 0; s < steps; s++) step.run(list[i % list.length], 1e-3, i++);
      const t = performance.now() - t0;
      await step.sums.read();
      return t / steps;
    };
    setups.push({ run, step, model });
  }
  for (const [v, { run }] of setups.entries()) {
    variants[v].set();
    for (let w = 0; w < 10; w++) await run(5);
  }
  const results = variants.map(() => ({ parts: new Map(), whole: [], wrapped: [] }));
  for (let r = 0; r < rounds; r++) {
    const order = variants.map((_, v) => v);
    if (r % 2 === 1) order.reverse();
    for (const v of order) {
      const { parts, whole, wrapped } = results[v];
      variants[v].set();
      const { run } = setups[v];
      whole.push(await run(STEPS));
      acc.clear();
      timing = true;
      wrapped.push(await run(STEPS));
      timing = false;
      for (const [k, t] of acc) {
        if (!parts.has(k)) parts.set(k, []);
        parts.get(k).push(t / STEPS);
      }
    }
  }
  variants.at(-1).set();
  const cols = (f) => results.map((res) => f(res).toFixed(3).padStart(9)).join('');
  const header = variants.map((v) => v.label.padStart(9)).join('');
  console.log(
    `\n${preset} b${batch}: step median ${cols((res) => median(res.whole))} ms (timed per stage: ${cols((res) => median(res.wrapped))} ms)${header ? `\n  ${''.padEnd(34)}${header}` : ''}`,
  );
  const sums = results.map(() => 0);
  for (const k of new Set(results.flatMap((res) => [...res.parts.keys()]))) {
    const m = results.map((res) => median(res.parts.get(k) ?? [0]));
    // "of which" parts are inside the part above them: counted once.
    if (!k.startsWith('  of which'))
      m.forEach((x, v) => {
        sums[v] += x;
      });
    if (Math.max(...m) >= 0.005)
      console.log(`  ${k.padEnd(34)}${m.map((x) => x.toFixed(3).padStart(9)).join('')}`);
  }
  console.log(
    `  ${'sum of parts'.padEnd(34)}${sums.map((x) => x.toFixed(3).padStart(9)).join('')}  (rest: loss on host, views, ${results.map((res, v) => (median(res.wrapped) - sums[v]).toFixed(3)).join(' / ')})`,
  );
  for (const { step, model } of setups) {
    step.dispose();
    model.dispose();
  }
}
