#!/usr/bin/env node
// Reproduces one row of the accuracy table in docs/train.md: trains a preset on the 60,000 real
// MNIST training images and evaluates it on the 10,000 test images, with the backend, wall time
// and machine recorded. Uses the built packages: run `pnpm turbo run build --filter=@lenet/train`
// first.
//
//   node scripts/accuracy/run.mjs lenet5            # one row (see --list)
//   node scripts/accuracy/run.mjs best --epochs 5   # override a field
//   node scripts/accuracy/run.mjs lenet5 --subset 2000 --epochs 1   # quick smoke run
//
// Results go to runs/accuracy/<row>.json (and a checkpoint + history under runs/accuracy/<row>/).
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const pkg = (name) => import(join(root, 'packages', name, 'dist', 'index.js'));
const [{ useBackend }, { loadMnist, subset }, { buildModel, getPreset }, train] = await Promise.all([
  pkg('backend'),
  pkg('datasets'),
  pkg('models'),
  pkg('train'),
]);

/** MNIST training-set pixel mean and standard deviation (0..1 units), as torchvision examples use. */
const MNIST_MEAN_STD = { mean: [0.1307], std: [0.3081] };

/** What every row shares unless it says otherwise: Adam at 4e-3, one-cycle, label smoothing 0.1. */
const RECIPE = {
  batchSize: 64,
  optimizer: 'adam',
  learningRate: 4e-3,
  schedule: { type: 'oneCycle' },
  labelSmoothing: 0.1,
  normalize: MNIST_MEAN_STD,
  augment: false,
};

/** The table rows. Each is a complete, seeded recipe. */
const ROWS = {
  lenet5: { what: 'classic LeNet-5 (relu, max pooling)', preset: 'lenet5', epochs: 3, ...RECIPE },
  'keras-baseline': {
    what: 'Keras baseline of report 004 (97,482 params)',
    preset: 'keras-baseline',
    epochs: 3,
    ...RECIPE,
  },
  'torch-bn': {
    what: 'PyTorch BN + Dropout(0.75) preset of reports 000/002 (59,734 params)',
    preset: 'torch-bn',
    epochs: 3,
    ...RECIPE,
  },
  'torch-bn-early-dropout': {
    what: 'torch-bn with early dropout: dropout in epoch 1, off in epochs 2-3 (Liu et al. 2023)',
    preset: 'torch-bn',
    epochs: 3,
    ...RECIPE,
    batchSize: 32,
    earlyDropoutEpochs: 1,
  },
  'lenet5-augment': {
    what: 'LeNet-5 with ±2 px crop augmentation, AdamW, one-cycle, label smoothing, 15 epochs',
    preset: 'lenet5',
    epochs: 15,
    ...RECIPE,
    optimizer: 'adamw',
    weightDecay: 0.01,
    augment: true,
  },
  best: {
    what: 'best LeNet-family configuration: the keras-baseline of report 004 with ±2 px crop augmentation, AdamW, one-cycle, label smoothing',
    preset: 'keras-baseline',
    epochs: 5,
    ...RECIPE,
    optimizer: 'adamw',
    weightDecay: 0.01,
    augment: true,
  },
};

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    list: { type: 'boolean' },
    epochs: { type: 'string' },
    'batch-size': { type: 'string' },
    lr: { type: 'string' },
    seed: { type: 'string', default: '1' },
    subset: { type: 'string' },
    backend: { type: 'string', default: 'wasm' },
    out: { type: 'string', default: join(root, 'runs', 'accuracy') },
  },
});

if (values.list || positionals.length !== 1 || !(positionals[0] in ROWS)) {
  console.log(
    `usage: node scripts/accuracy/run.mjs <row> [--epochs N] [--batch-size N] [--lr X] [--seed N] [--subset N] [--backend wasm|cpu|auto]\nrows:`,
  );
  for (const [name, row] of Object.entries(ROWS)) console.log(`  ${name.padEnd(15)} ${row.what}`);
  process.exit(values.list ? 0 : 2);
}

const name = positionals[0];
const row = { ...ROWS[name] };
if (values.epochs) row.epochs = Number(values.epochs);
if (values['batch-size']) row.batchSize = Number(values['batch-size']);
if (values.lr) row.learningRate = Number(values.lr);
const seed = Number(values.seed);

const backend = await useBackend(values.backend);
let trainSet = await loadMnist({ split: 'train' });
const testSet = await loadMnist({ split: 'test' });
if (values.subset)
  trainSet = subset(
    trainSet,
    Array.from({ length: Number(values.subset) }, (_, i) => i),
  );

const { spec } = getPreset(row.preset);
const model = buildModel(spec, { seed });
const runDir = join(values.out, name);
console.log(
  `${name}: ${row.what}\n  ${model.countParams()} params, ${trainSet.count} training images, backend ${backend.name}, seed ${seed}`,
);
console.log(`  ${JSON.stringify({ ...row, what: undefined })}`);

const started = performance.now();
const result = await train.fit(model, trainSet, {
  epochs: row.epochs,
  batchSize: row.batchSize,
  optimizer: row.optimizer,
  learningRate: row.learningRate,
  weightDecay: row.weightDecay,
  labelSmoothing: row.labelSmoothing,
  normalize: row.normalize,
  schedule: row.schedule,
  augment: row.augment,
  seed,
  spec,
  callbacks: [
    train.progressBar({ intervalSeconds: 30 }),
    train.historyWriter(runDir),
    train.modelCheckpoint({ dir: join(runDir, 'checkpoint'), save: 'last' }),
    train.nanGuard(),
    ...(row.earlyDropoutEpochs === undefined ? [] : [train.earlyDropout({ epochs: row.earlyDropoutEpochs })]),
  ],
});
const trainSeconds = (performance.now() - started) / 1000;
const evalStart = performance.now();
const ev = await train.evaluate(model, testSet, { batchSize: 500, normalize: row.normalize });
const evalSeconds = (performance.now() - evalStart) / 1000;

const report = {
  row: name,
  what: row.what,
  preset: row.preset,
  params: model.countParams(),
  epochs: result.epochsCompleted,
  batchSize: row.batchSize,
  optimizer: row.optimizer,
  learningRate: row.learningRate,
  weightDecay: row.weightDecay ?? 0,
  labelSmoothing: row.labelSmoothing ?? 0,
  normalize: row.normalize ?? 'unit',
  schedule: row.schedule,
  augment: row.augment,
  earlyDropoutEpochs: row.earlyDropoutEpochs ?? null,
  seed,
  trainImages: trainSet.count,
  testImages: ev.count,
  testAccuracy: ev.accuracy,
  testLoss: ev.loss,
  trainSeconds,
  evalSeconds,
  samplesPerSecond: result.history.map((h) => Math.round(h.samplesPerSecond)),
  backend: { name: backend.name, wasmSimd: backend.wasmSimd, threads: backend.threads },
  machine: {
    cpu: os.cpus()[0]?.model,
    cores: os.cpus().length,
    node: process.version,
    platform: process.platform,
  },
  date: new Date().toISOString(),
  history: result.history,
};
await mkdir(values.out, { recursive: true });
const file = join(values.out, `${name}.json`);
await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);
console.log(
  `${name}: test accuracy ${(ev.accuracy * 100).toFixed(2)}% (${ev.count} images), train ${trainSeconds.toFixed(0)} s, eval ${evalSeconds.toFixed(1)} s -> ${file}`,
);
