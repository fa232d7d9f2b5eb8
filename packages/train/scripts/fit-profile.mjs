// Where a `fit` epoch's time goes, against N × the bare compiled step, for the bench's `wasm-1w`
// cell (fit with Adam, seed 1, `batches` batches per epoch on real MNIST, validation 1 image per 9
// trained), interleaved in one process. Per round:
//   fit    one fit call of `--epochs` epochs; its last epoch split by callbacks into: each step
//          (batch assembly + step + loop work, by position in the epoch), the end of the epoch
//          (sums read, validation, logs), and fit's own steps-only and whole-epoch figures;
//   step   the bare step on `batches()` of the same set (reused buffers), N steps, one sums read;
//   cached the bench's train cell: the bare step cycling 4 cached batches, sums read every step;
//   data   `batches()` alone (shuffle, gather, normalise into reused buffers);
//   read   the running sums' read after N steps (as fit's end of epoch does);
//   val    `evaluateSums` over the validation set, as fit calls it; `valCompile` the compiled
//          inference net's construction alone (fit builds one per epoch), `valPass` its forward
//          passes alone.
// Medians of the rounds, in ms per epoch.  Build first:
//   pnpm exec turbo run build --filter=@lenet/train... --output-logs=errors-only
//   chrt -f 1 node packages/train/scripts/fit-profile.mjs [lenet5:64 ...] [--rounds=7] [--batches=20]
//     [--epochs=4] [--workers=1] [--torch-between=MS] [--sleep-between=MS]
// --torch-between=MS: also the variant `fitTorch`, fit with MS ms of PyTorch training (a LeNet-5
// at b64 on 2 threads, as the bench's partner round) in each epoch's onEpochEnd, where the bench's
// fit cell runs its PyTorch round: how much that slows the next epoch. (The child inherits the
// script's scheduling class, so under `chrt -f 1` it runs FIFO too.)
// --sleep-between=MS: also the variant `fitSleep`, fit idle for MS ms in each onEpochEnd.
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import { useBackend } from '@lenet/backend';
import { batches, head, loadMnist, subset } from '@lenet/datasets';
import { buildModel } from '@lenet/models/tf';
import { modelInference } from '../dist/compiled-inference.js';
import { evaluateSums } from '../dist/evaluate.js';
import { createTrainStep, fit } from '../dist/index.js';
import { modelInfo } from '../dist/model-info.js';
import { cellSpec, numberOption, parseCells } from './cells.mjs';

const args = process.argv.slice(2);
const cells = parseCells(args, ['lenet5:64']);
const rounds = numberOption(args, 'rounds', 7);
const perEpoch = numberOption(args, 'batches', 20);
const epochs = numberOption(args, 'epochs', 4);
const workers = numberOption(args, 'workers', 1);
const torchMs = numberOption(args, 'torch-between', 0);
const sleepMs = numberOption(args, 'sleep-between', 0);
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

await useBackend('wasm');
const all = await loadMnist({ split: 'train' });
console.log(`load average at start: ${load()}`);

for (const { preset, batch } of cells) {
  const spec = cellSpec(preset);
  const trainCount = perEpoch * batch;
  const valCount = Math.ceil(trainCount / 9);
  const train = head(all, trainCount);
  const validation = subset(
    all,
    Array.from({ length: valCount }, (_, i) => trainCount + i),
  );
  const stepModel = buildModel(spec, { seed: 1 });
  const info = modelInfo(stepModel);
  const bare = createTrainStep(stepModel, { optimizer: 'adam', seed: 1 });
  const valBatch = Math.max(batch, 256);
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
  const fitRun = async (between) => {
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
    const res = await fit(model, train, {
      epochs,
      batchSize: batch,
      optimizer: 'adam',
      seed: 1,
      spec,
      workers,
      validation,
      callbacks: [timer],
    });
    model.dispose();
    const h = res.history.at(-1);
    return {
      epoch: h.epochSeconds * 1000,
      stepsOnly: (trainCount / h.samplesPerSecond) * 1000,
      steps: per.reduce((a, b) => a + b, 0),
      first3: per.slice(0, 3).reduce((a, b) => a + b, 0),
      rest: per.slice(3).reduce((a, b) => a + b, 0),
      end: endMs,
    };
  };
  const variants = {
    fit: () => fitRun(null),
    ...(torchRound ? { fitTorch: () => fitRun(torchRound) } : {}),
    ...(sleepRound ? { fitSleep: () => fitRun(sleepRound) } : {}),
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
      await evaluateSums(stepModel, validation, info, valBatch, 'unit', 0, true);
      const whole = performance.now() - t0;
      const t1 = performance.now();
      const inference = modelInference(stepModel, info, { compiled: true });
      const compile = performance.now() - t1;
      const vb = [...batches(validation, { batchSize: valBatch, normalize: 'unit', layout: 'NHWC' })];
      const t2 = performance.now();
      for (const b of vb) await inference.probabilities(b);
      const pass = performance.now() - t2;
      inference.dispose();
      return { epoch: whole, valCompile: compile, valPass: pass };
    },
  };
  const names = Object.keys(variants);
  const got = Object.fromEntries(names.map((n) => [n, []]));
  for (const n of names) await variants[n]();
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < names.length; k++) {
      const n = names[(k + r) % names.length];
      got[n].push(await variants[n]());
    }
  }
  bare.dispose();
  stepModel.dispose();
  const m = (n, key = 'epoch') => median(got[n].map((x) => x[key]));
  const f = (x) => x.toFixed(2);
  const fitLine = (n) =>
    `  ${n} epoch ${f(m(n))} = steps ${f(m(n, 'steps'))} (first 3 ${f(m(n, 'first3'))}, other ${perEpoch - 3} ${f(m(n, 'rest'))}) + end of epoch ${f(m(n, 'end'))}; fit's steps-only ${f(m(n, 'stepsOnly'))}\n`;
  console.log(
    `${preset} b${batch} workers ${workers} (${perEpoch} batches/epoch, ${valCount} val at b${valBatch}, ${rounds} rounds, load ${load()}), ms per epoch:\n` +
      fitLine('fit') +
      (torchRound ? fitLine('fitTorch') : '') +
      (sleepRound ? fitLine('fitSleep') : '') +
      `  bare: steps on batches() ${f(m('step'))} (${f(m('step') / perEpoch)}/step, first 3 ≈ ${f((3 * m('step')) / perEpoch)}), on 4 cached batches ${f(m('cached'))}, batches() alone ${f(m('data'))}, sums read ${f(m('read'))}\n` +
      `  validation ${f(m('val'))} (net compile ${f(m('val', 'valCompile'))}, forward passes ${f(m('val', 'valPass'))})\n` +
      `  fit ÷ bare-step throughput: epoch ${(m('step') / m('fit')).toFixed(3)}, steps ${(m('step') / m('fit', 'steps')).toFixed(3)}`,
  );
}
