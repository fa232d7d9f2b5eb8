// Where `fit`'s training throughput goes relative to the bare compiled step: interleaved in one
// process, per case (preset:batch), rounds of
//   step     the benchmarks' train cell: createTrainStep on 4 cached batches, sums read every step;
//   stream   the same bare step fed by `batches()` over fit's training set (shuffled, fresh buffers);
//   reuse    as stream, with `batches(..., { reuseBuffers: true })`;
//   fresh    as step, on a model built for the round, its last epoch of `--epochs` timed;
//   data     `batches()` alone (batch preparation, no step);
//   fit      one `fit` call of `--epochs` epochs (as the bench's `wasm-1w` cell: Adam, seed 1,
//            validation 1 image per 9 trained); the last epoch's steps-only and whole-epoch rates;
//   before   as fit, from the build given with --before.
// Medians of the rounds, in samples/s, and fit's gap to the bare step in µs per training sample;
// the median per-batch time; the main thread's CPU time per sample (from the scheduler: the
// steadiest figure on a shared machine, where wall times swing by ±30 %); GCs.
// Build first:  pnpm exec turbo run build --filter=@lenet/train...
//   node packages/train/scripts/fit-overhead.mjs [--cases lenet5:64,lenet5:256,keras-baseline:64]
//     [--rounds 5] [--batches 20] [--epochs 3] [--ballast MB] [--preheat preset:batch,...]
//     [--before DIR] [--no-timer]
// For `--before`: cp -r packages/train/dist packages/train/dist-before before a change, rebuild
// after it, pass `--before dist-before` (and delete the copy afterwards).
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { PerformanceObserver } from 'node:perf_hooks';
import { useBackend } from '@lenet/backend';
import { batches, head, loadMnist, subset } from '@lenet/datasets';
import { getPreset } from '@lenet/models';
import { buildModel } from '@lenet/models/tf';
import { createTrainStep, fit } from '../dist/index.js';

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const cases = opt('cases', 'lenet5:64,lenet5:256,keras-baseline:64')
  .split(',')
  .map((c) => {
    const [preset, batch] = c.split(':');
    return { preset, batch: Number(batch) };
  });
const rounds = Number(opt('rounds', '5'));
const perEpoch = Number(opt('batches', '20'));
const epochs = Number(opt('epochs', '3'));
// --no-timer: fit without the per-batch timing callback (epoch figures only).
const withTimer = !args.includes('--no-timer');
// --before DIR: also time `fit` from another build of this package (a copy of dist/ from before a
// change, inside packages/train so that its imports resolve), as the variant `before`.
const beforeDir = opt('before', '');
const fitBefore = beforeDir
  ? (await import(new URL(`../${beforeDir}/index.js`, import.meta.url).href)).fit
  : null;

// --ballast MB: keep about this many MB of small JS objects alive, as a long process (the bench)
// does: every full garbage collection then has that much to mark.
const ballast = [];
for (let mb = Number(opt('ballast', '0')), k = 0; k < mb * 16; k++) {
  ballast.push(Array.from({ length: 1024 }, (_, j) => ({ j, s: `${k}` })));
}
await useBackend('wasm');
const all = await loadMnist({ split: 'train' });
// --preheat a:b,...: first take a few training steps of these presets at these batch sizes on
// random inputs, as the bench's earlier cells do (they grow the wasm heaps, then free them).
for (const c of opt('preheat', '').split(',').filter(Boolean)) {
  const [name, b] = c.split(':');
  const { spec } = getPreset(name);
  const n = Number(b);
  const model = buildModel(spec, { seed: 1 });
  const ts = createTrainStep(model, { optimizer: 'adam', seed: 1 });
  const x = Float32Array.from({ length: n * spec.input.reduce((a, d) => a * d, 1) }, () => Math.random());
  const y = Int32Array.from({ length: n }, (_, k) => k % 10);
  for (let k = 0; k < 2; k++) ts.run({ x, y, shape: [n, ...spec.input] }, 1e-3, k);
  await ts.sums.read();
  ts.dispose();
  model.dispose();
}
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
console.log(`load average at start: ${load()}`);
// Garbage collections (count and ms, main-thread pauses) during each variant.
const gc = { count: 0, ms: 0 };
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    gc.count++;
    gc.ms += e.duration;
  }
}).observe({ entryTypes: ['gc'] });
// CPU time of the main thread alone (ns, from the scheduler: independent of how busy the machine
// is, apart from cache effects) and of the whole process (µs, helper threads' polling included).
const mainCpuNs = () =>
  Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]);
const processCpuUs = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

for (const { preset, batch } of cases) {
  const { spec } = getPreset(preset);
  const trainCount = perEpoch * batch;
  const valCount = Math.ceil(trainCount / 9);
  const train = head(all, trainCount);
  const validation = subset(
    all,
    Array.from({ length: valCount }, (_, i) => trainCount + i),
  );
  const cached = [...batches(head(train, 4 * batch), { batchSize: batch, dropLast: true, layout: 'NHWC' })];
  const stepModel = buildModel(spec, { seed: 1 });
  const bare = createTrainStep(stepModel, { optimizer: 'adam', seed: 1 });
  const fitRound = async (fitFn) => {
    const model = buildModel(spec, { seed: 1 });
    // Per-batch wall times of the last epoch (batch preparation, step and loop work).
    let per = [];
    let s0 = 0;
    const timer = {
      onEpochBegin() {
        per = [];
        s0 = performance.now();
      },
      onBatchEnd() {
        const now = performance.now();
        per.push(now - s0);
        s0 = now;
      },
    };
    const callbacks = withTimer ? [timer] : [];
    const t0 = performance.now();
    const res = await fitFn(model, train, {
      epochs,
      batchSize: batch,
      optimizer: 'adam',
      seed: 1,
      validation,
      callbacks,
    });
    const wall = performance.now() - t0;
    model.dispose();
    const h = res.history.at(-1);
    return {
      rate: trainCount / h.epochSeconds,
      stepsOnly: h.samplesPerSecond,
      callMs: wall,
      per,
    };
  };
  let i = 0;
  // The bare step over one shuffled epoch of `batches()`, with fresh or reused buffers.
  const streamed = async (reuseBuffers) => {
    const t0 = performance.now();
    const per = [];
    let s0 = t0;
    const opts = { batchSize: batch, shuffle: true, seed: 1, epoch: i, layout: 'NHWC', reuseBuffers };
    for (const b of batches(train, opts)) {
      bare.run(b, 1e-3, i);
      i++;
      const now = performance.now();
      per.push(now - s0);
      s0 = now;
    }
    await bare.sums.read();
    return { rate: (trainCount * 1000) / (performance.now() - t0), per };
  };
  const variants = {
    async step() {
      const t0 = performance.now();
      const per = [];
      for (let k = 0; k < perEpoch; k++) {
        const s0 = performance.now();
        bare.run(cached[i % cached.length], 1e-3, i);
        i++;
        await bare.sums.read();
        per.push(performance.now() - s0);
      }
      return { rate: (trainCount * 1000) / (performance.now() - t0), per };
    },
    stream: () => streamed(false),
    // The bare step fed by `batches()` writing into reused buffers (`reuseBuffers`).
    reuse: () => streamed(true),
    // The step variant on a model built for the round (as fit's is): `epochs` × the epoch's
    // batches, the last epoch's timed; shows whether the weights' state changes the speed.
    async fresh() {
      const model = buildModel(spec, { seed: 1 });
      const ts = createTrainStep(model, { optimizer: 'adam', seed: 1 });
      let t0 = 0;
      const per = [];
      for (let k = 0; k < epochs * perEpoch; k++) {
        if (k === (epochs - 1) * perEpoch) t0 = performance.now();
        const s0 = performance.now();
        ts.run(cached[k % cached.length], 1e-3, k);
        await ts.sums.read();
        if (t0 > 0) per.push(performance.now() - s0);
      }
      const rate = (trainCount * 1000) / (performance.now() - t0);
      ts.dispose();
      model.dispose();
      return { rate, per };
    },
    async data() {
      const t0 = performance.now();
      let n = 0;
      for (const b of batches(train, {
        batchSize: batch,
        shuffle: true,
        seed: 1,
        epoch: i,
        layout: 'NHWC',
      })) {
        n += b.x[0] >= 0 ? 1 : 0;
      }
      return { rate: (trainCount * 1000) / (performance.now() - t0), n };
    },
    fit: () => fitRound(fit),
    ...(fitBefore ? { before: () => fitRound(fitBefore) } : {}),
  };
  const names = Object.keys(variants);
  const got = Object.fromEntries(names.map((n) => [n, []]));
  // One unrecorded round: JIT, wasm tier-up, the compiled nets' buffers.
  for (const n of names) await variants[n]();
  for (let r = 0; r < rounds; r++) {
    // Rotate the order so that no variant always runs after the same one.
    for (let k = 0; k < names.length; k++) {
      const n = names[(k + r) % names.length];
      const before = { ...gc };
      const main0 = mainCpuNs();
      const all0 = processCpuUs();
      const res = await variants[n]();
      res.mainUs = (mainCpuNs() - main0) / 1000;
      res.allUs = processCpuUs() - all0;
      // GC entries arrive on the event loop: let them in before reading the counters.
      await new Promise((resolve) => setImmediate(resolve));
      got[n].push({ ...res, gcCount: gc.count - before.count, gcMs: gc.ms - before.ms });
    }
  }
  bare.dispose();
  stepModel.dispose();
  const m = (n, key = 'rate') => median(got[n].map((x) => x[key]));
  const us = (rate) => 1e6 / rate;
  // Median per-batch time over every round's batches (robust to bursts of load), µs per sample.
  const perSample = (n) => (median(got[n].flatMap((x) => x.per ?? [])) * 1000) / batch;
  const step = m('step');
  const fitAll = m('fit');
  const fitSteps = m('fit', 'stepsOnly');
  console.log(
    `${preset} b${batch} (${perEpoch} batches/epoch, ${valCount} val, ${rounds} rounds, load ${load()}):\n` +
      `  step ${step.toFixed(0)}  stream ${m('stream').toFixed(0)}  reuse ${m('reuse').toFixed(0)}  fresh ${m('fresh').toFixed(0)}  data ${m('data').toFixed(0)}  ` +
      `fit steps-only ${fitSteps.toFixed(0)}  fit epoch ${fitAll.toFixed(0)} samples/s; fit/step ${(fitAll / step).toFixed(3)}` +
      (fitBefore
        ? `; before: steps-only ${m('before', 'stepsOnly').toFixed(0)}, epoch ${m('before').toFixed(0)}, before/step ${(m('before') / step).toFixed(3)}`
        : '') +
      '\n' +
      `  µs/sample over the step: stream ${(us(m('stream')) - us(step)).toFixed(1)}, fit steps ${(us(fitSteps) - us(step)).toFixed(1)}, ` +
      `fit epoch ${(us(fitAll) - us(step)).toFixed(1)} (of which end-of-epoch ${(us(fitAll) - us(fitSteps)).toFixed(1)})\n` +
      `  median per-batch µs/sample: step ${perSample('step').toFixed(1)}, stream ${perSample('stream').toFixed(1)}, reuse ${perSample('reuse').toFixed(1)}, fresh ${perSample('fresh').toFixed(1)}` +
      (withTimer ? `, fit ${perSample('fit').toFixed(1)}` : '') +
      (withTimer && fitBefore ? `, before ${perSample('before').toFixed(1)}` : '') +
      '\n' +
      `  CPU µs/sample (median of rounds; fit: its whole call, ${epochs} epochs, validation included) main thread / process: ${names
        .map((n) => {
          const per =
            n === 'fit' || n === 'before'
              ? trainCount * epochs
              : n === 'fresh'
                ? trainCount * epochs
                : trainCount;
          return `${n} ${(m(n, 'mainUs') / per).toFixed(1)} / ${(m(n, 'allUs') / per).toFixed(1)}`;
        })
        .join(', ')}\n` +
      `  GCs per round (count/ms): ${names.map((n) => `${n} ${m(n, 'gcCount')}/${m(n, 'gcMs').toFixed(1)}`).join(', ')}`,
  );
}
