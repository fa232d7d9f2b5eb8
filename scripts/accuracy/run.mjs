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
const [{ useBackend }, { head, loadMnist }, { buildModel, getPreset }, train] = await Promise.all([
  pkg('backend'),
  pkg('datasets'),
  pkg('models'),
  pkg('train'),
]);

/** The table rows: the `accuracy-<row>` recipes of @lenet/train, each complete and seeded. */
const ROWS = Object.fromEntries(
  Object.keys(train.RECIPES)
    .filter((name) => name.startsWith('accuracy-'))
    .map((name) => [name.slice('accuracy-'.length), name]),
);

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    list: { type: 'boolean' },
    epochs: { type: 'string' },
    'batch-size': { type: 'string' },
    lr: { type: 'string' },
    seed: { type: 'string' },
    subset: { type: 'string' },
    backend: { type: 'string', default: 'wasm' },
    out: { type: 'string', default: join(root, 'runs', 'accuracy') },
  },
});

if (values.list || positionals.length !== 1 || !(positionals[0] in ROWS)) {
  console.log(
    `usage: node scripts/accuracy/run.mjs <row> [--epochs N] [--batch-size N] [--lr X] [--seed N] [--subset N] [--backend wasm|cpu|auto]\nrows:`,
  );
  for (const [name, recipe] of Object.entries(ROWS)) {
    console.log(`  ${name.padEnd(15)} ${train.RECIPES[recipe].description}`);
  }
  process.exit(values.list ? 0 : 2);
}

const name = positionals[0];
const row = train.getRecipe(ROWS[name]);
if (values.epochs) row.epochs = Number(values.epochs);
if (values['batch-size']) row.batchSize = Number(values['batch-size']);
if (values.lr) row.learningRate = Number(values.lr);
if (values.seed) row.seed = Number(values.seed);
try {
  train.validateRecipe(row);
} catch (e) {
  console.error(`run.mjs: ${e.message}`);
  process.exit(2);
}
const seed = row.seed;

const backend = await useBackend(values.backend);
let trainSet = await loadMnist({ split: 'train' });
const testSet = await loadMnist({ split: 'test' });
if (values.subset) trainSet = head(trainSet, Number(values.subset));

const { spec } = getPreset(row.model);
const model = buildModel(spec, { seed });
const runDir = join(values.out, name);
console.log(
  `${name}: ${row.description}\n  ${model.countParams()} params, ${trainSet.count} training images, backend ${backend.name}, seed ${seed}`,
);
console.log(`  ${JSON.stringify({ ...row, description: undefined })}`);

const started = performance.now();
const options = train.recipeToFitOptions(row, {
  train: trainSet,
  spec,
  callbacks: [
    train.progressBar({ intervalSeconds: 30 }),
    train.historyWriter(runDir),
    train.modelCheckpoint({ dir: join(runDir, 'checkpoint'), save: 'last' }),
    train.nanGuard(),
  ],
});
const result = await train.fit(model, trainSet, options);
const trainSeconds = (performance.now() - started) / 1000;
const evalStart = performance.now();
const ev = await train.evaluate(model, testSet, { batchSize: 500, normalize: options.normalize });
const evalSeconds = (performance.now() - evalStart) / 1000;

const report = {
  row: name,
  what: row.description,
  preset: row.model,
  params: model.countParams(),
  epochs: result.epochsCompleted,
  batchSize: row.batchSize,
  optimizer: row.optimizer,
  learningRate: row.learningRate,
  weightDecay: row.weightDecay ?? 0,
  labelSmoothing: row.labelSmoothing,
  normalize: options.normalize,
  schedule: options.schedule,
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
