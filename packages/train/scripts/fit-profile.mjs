// Where a `fit` epoch's time goes, against the bare compiled step, for the bench's `wasm-1w` fit
// cell (fit with Adam, seed 1, `--batches` batches per epoch of the bench's own fit data — MNIST,
// padded to the model's input — and its validation set, 1 image per 9 trained), interleaved in one
// process, the order rotated every round. Per round:
//   fit     one fit call of `--epochs` epochs; its last epoch split by callbacks into: each step
//           (batch assembly + step + loop work, by position in the epoch), the end of the epoch
//           (sums read, validation, logs), and fit's own steps-only and whole-epoch figures;
//   step    the bare step on `batches()` of the same set (reused buffers, as fit), N steps, one
//           sums read;
//   cached  the bench's train cell: the bare step cycling 4 cached batches, sums read every step;
//   data    `batches()` alone (shuffle, gather, normalise into reused buffers);
//   read    the running sums' read after N steps (as fit's end of epoch does);
//   val     `evaluateSums` over the validation set with one inference kept from round to round
//           (as fit keeps it from epoch to epoch; the weights change in between);
//   valNew  the same with a new inference each time: `valCompile` its construction alone.
// Medians of the rounds, in ms per epoch; per variant also the main thread's CPU ms (from the
// scheduler: the steadiest figure on a shared machine, where wall times swing by ±30 %) and the
// garbage collections (count/ms).  Build first (the fit data comes from the bench's dist):
//   pnpm exec turbo run build --filter=@lenet/train... --filter=@lenet/benchmarks --output-logs=errors-only
//   chrt -f 1 node packages/train/scripts/fit-profile.mjs [lenet5:64 ...] [--rounds=7] [--batches=10]
//     [--epochs=4] [--workers=1] [--ab=NAME] [--before=DIR] [--no-timer] [--ballast=MB]
//     [--preheat=preset:batch,...] [--torch-between=MS] [--sleep-between=MS]
// --ab=NAME: fit once per switch setting (cells.mjs), as the variants `fit[NAME off]`, `fit[NAME on]`.
// --before=DIR: also fit from another build of this package (a copy of dist/ from before a change,
//   inside packages/train so that its imports resolve: `cp -r packages/train/dist
//   packages/train/dist-before`, rebuild after the change, pass `--before=dist-before`), as `before`.
// --no-timer: fit without the per-batch timing callback (epoch figures only).
// --ballast=MB: keep about this many MB of small JS objects alive, as a long process (the bench)
//   does: every full garbage collection then has that much to mark.
// --preheat=a:b,...: first take two training steps of these presets at these batch sizes on random
//   inputs, as the bench's earlier cells do (they grow the wasm heap, then free it).
// --torch-between=MS: also the variant `fitTorch`, fit with MS ms of PyTorch training (a LeNet-5
//   at b64 on 2 threads, as the bench's partner round) in each epoch's onEpochEnd, where the bench's
//   fit cell runs its PyTorch round: how much that slows the next epoch. (The child inherits the
//   script's scheduling class, so under `chrt -f 1` it runs FIFO too: keep MS short.)
// --sleep-between=MS: also the variant `fitSleep`, fit idle for MS ms in each onEpochEnd.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { PerformanceObserver } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { useBackend } from '@lenet/backend';
import { batches, head, loadMnist } from '@lenet/datasets';
import { buildModel } from '@lenet/models/tf';
import { fitCellData } from '../../../benchmarks/dist/cells/parallel-train-cell.js';
import { modelInference } from '../dist/compiled-inference.js';
import { evaluateSums } from '../dist/evaluate.js';
import { createTrainStep, fit } from '../dist/index.js';
import { modelInfo } from '../dist/model-info.js';
import { abVariants, cellSpec, numberOption, parseCells } from './cells.mjs';

const args = process.argv.slice(2);
const cells = parseCells(args, ['lenet5:64']);
const rounds = numberOption(args, 'rounds', 7);
const perEpoch = numberOption(args, 'batches', 10);
const epochs = numberOption(args, 'epochs', 4);
const workers = numberOption(args, 'workers', 1);
const torchMs = numberOption(args, 'torch-between', 0);
const sleepMs = numberOption(args, 'sleep-between', 0);
const stringOption = (name) => args.find((s) => s.startsWith(`--${name}=`))?.slice(name.length + 3) ?? '';
const withTimer = !args.includes('--no-timer');
const switches = args.some((s) => s.startsWith('--ab=')) ? abVariants(args) : [];
const beforeDir = stringOption('before');
const fitBefore = beforeDir
  ? (await import(new URL(`../${beforeDir}/index.js`, import.meta.url).href)).fit
  : null;
const sleepRound = sleepMs > 0 ? () => new Promise((resolve) => setTimeout(resolve, sleepMs)) : null;
// A PyTorch process that trains a LeNet-5 for the given ms on every line it reads.
const TORCH = `
import sys, time, torch, torch.nn as nn
torch.set_num_threads(2)
m = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(),
                  nn.MaxPool2d(2), nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))
opt = torch.optim.Adam(m.parameters())
x, y = torch.rand(64, 1, 28, 28), torch.randint(0, 10, (64,))
for line in sys.stdin:
    end = time.perf_counter() + float(line) / 1000
    while time.perf_counter() < end:
        opt.zero_grad(); nn.functional.cross_entropy(m(x), y).backward(); opt.step()
    print('done', flush=True)
`;
let torchRound = null;
if (torchMs > 0) {
  const env = { ...process.env, MALLOC_MMAP_THRESHOLD_: '33554432', MALLOC_TRIM_THRESHOLD_: '4294967296' };
  const child = spawn('/usr/bin/python3', ['-c', TORCH], { env, stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  torchRound = async () => {
    child.stdin.write(`${torchMs}\n`);
    await lines.next();
  };
  process.on('exit', () => child.kill());
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
// Garbage collections (count and ms, main-thread pauses) during each variant.
const gc = { count: 0, ms: 0 };
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    gc.count++;
    gc.ms += e.duration;
  }
}).observe({ entryTypes: ['gc'] });
// CPU time of the main thread alone, ns (independent of how busy the machine is, but for caches).
const mainCpuNs = () =>
  Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]);

const ballast = [];
for (let k = 0; k < numberOption(args, 'ballast', 0) * 16; k++) {
  ballast.push(Array.from({ length: 1024 }, (_, j) => ({ j, s: `${k}` })));
}
await useBackend('wasm');
const mnist = { train: await loadMnist({ split: 'train' }) };
for (const c of stringOption('preheat').split(',').filter(Boolean)) {
  const [name, b] = c.split(':');
  const spec = cellSpec(name);
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
console.log(`load average at start: ${load()}`);

for (const { preset, batch } of cells) {
  const spec = cellSpec(preset);
  const { train, validation } = fitCellData(mnist, spec.input, perEpoch, batch);
  const trainCount = train.count;
  const stepModel = buildModel(spec, { seed: 1 });
  const info = modelInfo(stepModel);
  const bare = createTrainStep(stepModel, { optimizer: 'adam', seed: 1 });
  const valBatch = Math.max(batch, 256);
  const kept = modelInference(stepModel, info, { compiled: true });
  const cachedBatches = [
    ...batches(head(train, 4 * batch), { batchSize: batch, layout: 'NHWC', normalize: 'unit' }),
  ];
  let i = 0;
  const epochBatches = () =>
    batches(train, {
      batchSize: batch,
      shuffle: true,
      seed: 1,
      epoch: i,
      layout: 'NHWC',
      normalize: 'unit',
      reuseBuffers: true,
    });
  const fitRun = async (fitFn, between) => {
    const model = buildModel(spec, { seed: 1 });
    let per = [];
    let t = 0;
    let stepsEnd = 0;
    let endMs = 0;
    const timer = {
      onEpochBegin() {
        per = [];
        t = performance.now();
      },
      onBatchEnd() {
        const now = performance.now();
        per.push(now - t);
        t = now;
        stepsEnd = now;
      },
      async onEpochEnd() {
        endMs = performance.now() - stepsEnd;
        await between?.();
      },
    };
    const callbacks = withTimer ? [timer] : between ? [{ onEpochEnd: between }] : [];
    const res = await fitFn(model, train, {
      epochs,
      batchSize: batch,
      optimizer: 'adam',
      seed: 1,
      spec,
      workers,
      validation,
      callbacks,
    });
    model.dispose();
    const h = res.history.at(-1);
    return {
      epoch: h.epochSeconds * 1000,
      stepsOnly: (trainCount / h.samplesPerSecond) * 1000,
      ...(withTimer
        ? {
            steps: per.reduce((a, b) => a + b, 0),
            first3: per.slice(0, 3).reduce((a, b) => a + b, 0),
            rest: per.slice(3).reduce((a, b) => a + b, 0),
            end: endMs,
          }
        : {}),
      // fit's CPU time spans every epoch: per epoch, as the other variants.
      cpuDivisor: epochs,
    };
  };
  const fits =
    switches.length > 0
      ? Object.fromEntries(
          switches.map((s) => [
            `fit[${s.label}]`,
            async () => {
              s.set();
              return fitRun(fit, null);
            },
          ]),
        )
      : { fit: () => fitRun(fit, null) };
  const variants = {
    ...fits,
    ...(fitBefore ? { before: () => fitRun(fitBefore, null) } : {}),
    ...(torchRound ? { fitTorch: () => fitRun(fit, torchRound) } : {}),
    ...(sleepRound ? { fitSleep: () => fitRun(fit, sleepRound) } : {}),
    async step() {
      const t0 = performance.now();
      for (const b of epochBatches()) bare.run(b, 1e-3, i++);
      await bare.sums.read();
      return { epoch: performance.now() - t0 };
    },
    async cached() {
      const t0 = performance.now();
      for (let k = 0; k < perEpoch; k++) {
        bare.run(cachedBatches[k % cachedBatches.length], 1e-3, i++);
        await bare.sums.read();
      }
      return { epoch: performance.now() - t0 };
    },
    async data() {
      const t0 = performance.now();
      let n = 0;
      for (const b of epochBatches()) n += b.y.length;
      i++;
      return { epoch: performance.now() - t0, n };
    },
    async read() {
      for (const b of epochBatches()) bare.run(b, 1e-3, i++);
      const t0 = performance.now();
      await bare.sums.read();
      return { epoch: performance.now() - t0 };
    },
    async val() {
      const t0 = performance.now();
      await evaluateSums(stepModel, validation, info, valBatch, 'unit', 0, true, kept);
      return { epoch: performance.now() - t0 };
    },
    async valNew() {
      const t0 = performance.now();
      const inference = modelInference(stepModel, info, { compiled: true });
      const compile = performance.now() - t0;
      await evaluateSums(stepModel, validation, info, valBatch, 'unit', 0, true, inference);
      const whole = performance.now() - t0;
      inference.dispose();
      return { epoch: whole, valCompile: compile };
    },
  };
  const names = Object.keys(variants);
  const got = Object.fromEntries(names.map((n) => [n, []]));
  // One unrecorded round: JIT, wasm tier-up, the compiled nets' buffers.
  for (const n of names) await variants[n]();
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < names.length; k++) {
      const n = names[(k + r) % names.length];
      const before = { ...gc };
      const cpu0 = mainCpuNs();
      const res = await variants[n]();
      res.cpu = (mainCpuNs() - cpu0) / 1e6 / (res.cpuDivisor ?? 1);
      // GC entries arrive on the event loop: let them in before reading the counters.
      await new Promise((resolve) => setImmediate(resolve));
      got[n].push({ ...res, gcCount: gc.count - before.count, gcMs: gc.ms - before.ms });
    }
  }
  kept.dispose();
  bare.dispose();
  stepModel.dispose();
  const m = (n, key = 'epoch') => median(got[n].map((x) => x[key]));
  const f = (x) => x.toFixed(2);
  const fitNames = names.filter((n) => n.startsWith('fit') || n === 'before');
  const fitLine = (n) =>
    withTimer
      ? `  ${n} epoch ${f(m(n))} = steps ${f(m(n, 'steps'))} (first 3 ${f(m(n, 'first3'))}, other ${perEpoch - 3} ${f(m(n, 'rest'))}) + end of epoch ${f(m(n, 'end'))}; fit's steps-only ${f(m(n, 'stepsOnly'))}; ÷ bare step ${(m('step') / m(n)).toFixed(3)}\n`
      : `  ${n} epoch ${f(m(n))}, fit's steps-only ${f(m(n, 'stepsOnly'))}; ÷ bare step ${(m('step') / m(n)).toFixed(3)}\n`;
  console.log(
    `${preset} b${batch} workers ${workers} (${perEpoch} batches/epoch, ${validation.count} val at b${valBatch}, ${rounds} rounds, load ${load()}), ms per epoch:\n` +
      fitNames.map(fitLine).join('') +
      `  bare: steps on batches() ${f(m('step'))} (${f(m('step') / perEpoch)}/step), on 4 cached batches ${f(m('cached'))}, batches() alone ${f(m('data'))}, sums read ${f(m('read'))}\n` +
      `  validation ${f(m('val'))} (kept inference; a new one ${f(m('valNew'))}, its construction ${f(m('valNew', 'valCompile'))})\n` +
      `  main-thread CPU ms per epoch: ${names.map((n) => `${n} ${f(m(n, 'cpu'))}`).join(', ')}\n` +
      `  GCs per round (count/ms): ${names.map((n) => `${n} ${m(n, 'gcCount')}/${m(n, 'gcMs').toFixed(1)}`).join(', ')}` +
      // The switch's effect round by round (each round runs both): steadier than a difference of medians.
      (switches.length > 0
        ? `\n  ${fitNames[1]} − ${fitNames[0]}, median of the rounds' differences: epoch ${f(median(got[fitNames[1]].map((x, r) => x.epoch - got[fitNames[0]][r].epoch)))} ms, steps-only ${f(median(got[fitNames[1]].map((x, r) => x.stepsOnly - got[fitNames[0]][r].stepsOnly)))} ms`
        : ''),
  );
}
