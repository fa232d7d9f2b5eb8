// Per-stage time of the compiled inference pass as `modelClassifier(model).probabilities(batch)`
// runs it (what `pnpm bench`'s infer cell times): each stage's forward (a conv keyed by its input channels too), the buffer layout, the
// input copy, the softmax and result copy, and the rest of the call (the classifier's wrapping),
// as medians over rounds of the per-call time. The parts are timed by wrapping the prototypes of
// the net's classes, so the call runs as it does in the bench. Build first:
//   pnpm exec turbo run build --filter=@lenet/train...
//   node packages/train/scripts/infer-stages.mjs [--threads=N] [--rounds=N] [--ab=pool] [preset:batch ...]
// --ab=NAME runs every round with a switch off and on (in alternating order) and prints both.
import { compileInferenceNet, setWasmKernelThreads, useBackend, wasmKernelThreads } from '@lenet/backend';
import { loadMnist } from '@lenet/datasets';
import { buildModel } from '@lenet/models/tf';
import { modelNetSpec } from '../dist/compiled-step.js';
import { modelClassifier } from '../dist/index.js';
import { abVariants, cellBatches, cellSpec, numberOption, parseCells } from './cells.mjs';

const args = process.argv.slice(2);
const opt = (name, fallback) => numberOption(args, name, fallback);
const rounds = opt('rounds', 15);
const variants = abVariants(args);
const CALLS = 20;
const cells = parseCells(args, [
  'lenet5:64',
  'lenet5:256',
  'torch-bn:64',
  'torch-bn:256',
  'mlp2:64',
  'mlp2:256',
]);
await useBackend('wasm');
const threads = opt('threads', 0);
if (threads > 0) await setWasmKernelThreads(threads);
const mnist = await loadMnist({ split: 'test' });
const median = (t) => [...t].sort((a, b) => a - b)[Math.floor(t.length / 2)];
const { loadavg } = await import('node:os');
console.log(
  `node ${process.version}, kernel threads ${wasmKernelThreads()}, ${rounds} rounds of ${CALLS} calls, load ${loadavg()[0].toFixed(2)}`,
);

let timing = false;
const acc = new Map();
const add = (key, ms) => acc.set(key, (acc.get(key) ?? 0) + ms);
const wrapped = new Set();
// Objects inside a timed call: a subclass's wrapper (ConvPoolStage) may call its base class's
// (ConvStage), which must not count the same call again.
const inside = new WeakSet();
const wrap = (obj, method, key) => {
  const orig = obj[method];
  obj[method] = function (...a) {
    if (!timing || inside.has(this)) return orig.apply(this, a);
    inside.add(this);
    const t0 = performance.now();
    try {
      return orig.apply(this, a);
    } finally {
      add(key(this), performance.now() - t0);
      inside.delete(this);
    }
  };
};
for (const { preset, batch } of cells) {
  const spec = cellSpec(preset);
  const model = buildModel(spec, { seed: 1 });
  const [b] = cellBatches(spec, batch, mnist);
  // A classifier per variant, compiled with its switch set (a switch read when a net is compiled).
  const clfs = [];
  for (const v of variants) {
    v.set();
    const clf = modelClassifier(model);
    await clf.probabilities(b);
    if (clf.path.kind !== 'compiled') throw new Error(`${preset}: ${clf.path.reason}`);
    clfs.push(clf);
    // The net's classes and its stages' classes, from a net compiled the same way (the classifier
    // keeps its own private); wrapped once per class, each stage keyed by its class and output shape.
    const translated = modelNetSpec(model, { inference: true });
    const probe = compileInferenceNet(translated.spec);
    for (const proto of [
      Object.getPrototypeOf(probe),
      ...probe.stages.map((s) => Object.getPrototypeOf(s)),
    ]) {
      if (wrapped.has(proto)) continue;
      wrapped.add(proto);
      if (proto === Object.getPrototypeOf(probe)) {
        wrap(proto, 'layout', () => 'layout (buffers)');
        wrap(proto, 'run', () => 'run (all below + input copy + softmax)');
      } else
        wrap(
          proto,
          'forward',
          (st) => `  ${st.constructor.name}${st.g ? ` ${st.g.ci}→` : ' '}[${st.outShape}]`,
        );
    }
    probe.dispose();
  }
  acc.clear();
  const results = variants.map(() => ({ perCall: [], parts: new Map() }));
  const orderOf = (r) => (r % 2 === 1 ? [...variants.keys()].reverse() : [...variants.keys()]);
  for (let r = 0; r < rounds; r++) {
    for (const v of orderOf(r)) {
      variants[v].set();
      timing = false;
      const t0 = performance.now();
      for (let c = 0; c < CALLS; c++) await clfs[v].probabilities(b);
      results[v].perCall.push((performance.now() - t0) / CALLS);
    }
  }
  for (let r = 0; r < rounds; r++) {
    for (const v of orderOf(r)) {
      variants[v].set();
      const { parts } = results[v];
      timing = true;
      acc.clear();
      const t0 = performance.now();
      for (let c = 0; c < CALLS; c++) await clfs[v].probabilities(b);
      add('call (wrapped)', performance.now() - t0);
      timing = false;
      for (const [k, t] of acc) parts.set(k, [...(parts.get(k) ?? []), t / CALLS]);
    }
  }
  variants.at(-1).set();
  for (const [v, { perCall, parts }] of results.entries()) {
    const total = median(perCall);
    console.log(
      `${preset} b${batch}${variants[v].label ? ` (${variants[v].label})` : ''}: ${total.toFixed(3)} ms/call = ${((batch / total) * 1000).toFixed(0)} samples/s (best round ${Math.min(...perCall).toFixed(3)} ms)`,
    );
    for (const [k, t] of parts) console.log(`  ${k.padEnd(40)} ${median(t).toFixed(3)} ms`);
    const run = median(parts.get('run (all below + input copy + softmax)') ?? [0]);
    const stages = [...parts].filter(([k]) => k.startsWith('  ')).reduce((a, [, t]) => a + median(t), 0);
    console.log(
      `  ${'input copy + softmax + result copy'.padEnd(40)} ${(run - stages).toFixed(3)} ms (run − stages)`,
    );
    console.log(
      `  ${'outside run (classifier, layout, free)'.padEnd(40)} ${(median(parts.get('call (wrapped)')) - run).toFixed(3)} ms (call − run, same rounds)`,
    );
  }
  model.dispose();
}
console.log(`load ${loadavg()[0].toFixed(2)}`);
process.exit(0);
