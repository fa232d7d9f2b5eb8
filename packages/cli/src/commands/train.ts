import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Dataset } from '@lenet/datasets';
import type { ModelSpec } from '@lenet/models';
import type { Callback, EpochLogs, FitResult, ScheduleConfig } from '@lenet/train';
import type { Command } from 'commander';
import { activateBackend, CLI_BACKENDS, type CliBackend } from '../backend-arg.js';
import { CLI_DATASETS, type CliDatasetName, loadRequested } from '../data.js';
import { CliFailure, UsageError } from '../errors.js';
import { type CliIo, printJson } from '../io.js';
import { resolveModel } from '../model-arg.js';
import { nonNegativeInt, oneOf, positiveInt, positiveNumber } from '../parse.js';
import { loadClassifier } from '../predictor.js';
import { writeRunReport } from '../report.js';

const OPTIMIZERS = ['adam', 'adamw', 'sgd', 'rmsprop'] as const;
const SCHEDULES = ['constant', 'step', 'cosine', 'one-cycle', 'plateau'] as const;

interface TrainFlags {
  model: string;
  dataset: CliDatasetName;
  data?: string;
  epochs: number;
  batchSize: number;
  optimizer: (typeof OPTIMIZERS)[number];
  lr: number;
  schedule: (typeof SCHEDULES)[number];
  warmup: number;
  labelSmoothing: number;
  normalize: 'unit' | 'standard';
  augment?: boolean;
  backend: CliBackend;
  seed: number;
  out: string;
  limit?: number;
  valFraction: number;
  onnx: boolean;
  workers: number;
  json?: boolean;
}

function scheduleConfig(flags: TrainFlags): ScheduleConfig {
  const warm = flags.warmup > 0 ? { warmupEpochs: flags.warmup } : {};
  switch (flags.schedule) {
    case 'constant':
      return { type: 'constant', ...warm };
    case 'step':
      return { type: 'step', stepEpochs: Math.max(1, Math.floor(flags.epochs / 3)), gamma: 0.1, ...warm };
    case 'cosine':
      return { type: 'cosine', ...warm };
    case 'one-cycle':
      return { type: 'oneCycle' };
    case 'plateau':
      return { type: 'reduceOnPlateau', ...warm } as ScheduleConfig;
  }
}

function take(ds: Dataset, limit: number | undefined): Dataset {
  if (!limit || limit >= ds.count) return ds;
  const pixels = ds.height * ds.width * ds.channels;
  return {
    ...ds,
    count: limit,
    images: ds.images.subarray(0, limit * pixels),
    labels: ds.labels.subarray(0, limit),
    source: `${ds.source} (first ${limit})`,
  };
}

const INTERRUPTED = 'interrupted (Ctrl-C)';

/** Stops training at the next batch end after Ctrl-C, so the last checkpoint is written whole. */
function interruptStop(io: CliIo): { callback: Callback; dispose: () => void } {
  let interrupted = false;
  const onSigint = () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    io.err('\ninterrupted: stopping after this batch (Ctrl-C again to quit now)\n');
  };
  process.on('SIGINT', onSigint);
  return {
    callback: {
      onBatchEnd: () => (interrupted ? { stop: true, reason: 'interrupted (Ctrl-C)' } : undefined),
    },
    dispose: () => process.off('SIGINT', onSigint),
  };
}

/** `lenet train`: trains a preset or spec on a data set and fills a run directory. */
export function registerTrain(program: Command, io: CliIo, setExitCode: (code: number) => void): void {
  program
    .command('train')
    .description(
      'train a model and write a run directory (spec, history, checkpoints, model, ONNX, plots, report)',
    )
    .option('--model <preset|spec.json>', 'preset name or spec file', 'lenet5')
    .option('--dataset <name>', CLI_DATASETS.join(' | '), oneOf('--dataset', CLI_DATASETS), 'mnist')
    .option('--data <dir>', 'data directory (default for mnist: the bundled real MNIST)')
    .option('--epochs <n>', 'epochs', positiveInt('--epochs'), 3)
    .option('--batch-size <n>', 'batch size', positiveInt('--batch-size'), 64)
    .option('--optimizer <name>', OPTIMIZERS.join(' | '), oneOf('--optimizer', OPTIMIZERS), 'adam')
    .option('--lr <rate>', 'learning rate (the peak for one-cycle)', positiveNumber('--lr'), 4e-3)
    .option('--schedule <name>', SCHEDULES.join(' | '), oneOf('--schedule', SCHEDULES), 'one-cycle')
    .option('--label-smoothing <eps>', 'label smoothing in [0, 1)', Number, 0.1)
    .option(
      '--normalize <mode>',
      'unit (pixel/255) or standard (per-channel mean/std of the training set)',
      oneOf('--normalize', ['unit', 'standard'] as const),
      'standard',
    )
    .option('--warmup <epochs>', 'linear warm-up epochs', nonNegativeInt('--warmup'), 0)
    .option('--augment', 'random crops (and flips for CIFAR) on training batches')
    .option('--backend <name>', CLI_BACKENDS.join(' | '), oneOf('--backend', CLI_BACKENDS), 'auto')
    .option('--seed <n>', 'seed for weights, shuffling and augmentation', nonNegativeInt('--seed'), 0)
    .option('--limit <n>', 'train on the first n images only', positiveInt('--limit'))
    .option('--val-fraction <f>', 'validation fraction split off the training set', Number, 0.1)
    .option(
      '--workers <n>',
      'threads splitting each batch (data-parallel; 1 = this thread only)',
      positiveInt('--workers'),
      1,
    )
    .option('--no-onnx', 'do not export model.onnx')
    .option('--out <dir>', 'run directory', `runs/train-${new Date().toISOString().replace(/[:.]/g, '-')}`)
    .option('--json', 'print the final result as JSON')
    .action(async (flags: TrainFlags) => {
      if (!(flags.valFraction >= 0 && flags.valFraction < 1)) {
        throw new UsageError(`--val-fraction must be in [0, 1), got ${flags.valFraction}`);
      }
      if (!(flags.labelSmoothing >= 0 && flags.labelSmoothing < 1)) {
        throw new UsageError(`--label-smoothing must be in [0, 1), got ${flags.labelSmoothing}`);
      }
      await runTrain(flags, io, setExitCode);
    });
}

async function runTrain(flags: TrainFlags, io: CliIo, setExitCode: (code: number) => void): Promise<void> {
  const out = resolve(flags.out);
  const train = take(
    await loadRequested({ name: flags.dataset, dir: flags.data, split: 'train' }),
    flags.limit,
  );
  const test = await loadRequested({ name: flags.dataset, dir: flags.data, split: 'test' });
  const { spec, adaptations } = await resolveModel(flags.model, {
    input: [train.height, train.width, train.channels],
    classes: train.classNames.length,
  });
  for (const a of adaptations) io.err(`model adapted: ${a}\n`);
  const backend = await activateBackend(flags.backend, io, Boolean(flags.json));

  const models = await import('@lenet/models');
  const { buildModel, saveModel } = await import('@lenet/models/tf');
  const trainPkg = await import('@lenet/train');
  await mkdir(out, { recursive: true });
  models.saveSpec(join(out, 'spec.json'), spec);

  const { meanStd } = await import('@lenet/datasets');
  // Statistics of the training images, kept with the model so eval/predict/ONNX normalise the same way.
  const normalize: 'unit' | { mean: number[]; std: number[] } =
    flags.normalize === 'standard' ? (({ mean, std }) => ({ mean, std }))(meanStd(train)) : 'unit';
  const model = buildModel(spec, { seed: flags.seed });
  const stop = interruptStop(io);
  let result: FitResult;
  try {
    const callbacks: Callback[] = [
      stop.callback,
      trainPkg.nanGuard(),
      trainPkg.historyWriter(out),
      trainPkg.modelCheckpoint({ dir: join(out, 'checkpoints'), save: 'both' }),
    ];
    if (!flags.json) callbacks.push(trainPkg.progressBar({ mode: io.interactive ? 'bar' : 'lines' }));
    result = await trainPkg.fit(model, train, {
      epochs: flags.epochs,
      batchSize: flags.batchSize,
      optimizer: flags.optimizer,
      learningRate: flags.lr,
      schedule: scheduleConfig(flags),
      augment: flags.augment ?? false,
      labelSmoothing: flags.labelSmoothing,
      normalize,
      seed: flags.seed,
      validation: flags.valFraction > 0 ? { fraction: flags.valFraction, seed: flags.seed } : undefined,
      callbacks,
      spec,
      workers: flags.workers,
    });
  } catch (e) {
    model.dispose();
    if (e instanceof trainPkg.TrainError) throw new CliFailure(e.message);
    throw e;
  } finally {
    stop.dispose();
  }

  const evalResult = await trainPkg.evaluate(model, test, { batchSize: 256, normalize });
  await saveModel(model, join(out, 'model'), {
    metadata: { spec, classNames: test.classNames, normalize },
  });
  let onnx: { path: string; accuracy: number } | undefined;
  if (flags.onnx) onnx = await exportAndCheck(model, spec, test, out, normalize);
  model.dispose();

  await writeRunReport(out, {
    spec,
    adaptations,
    backend: backend.name,
    flags: { ...flags },
    history: result.history,
    stopped: result.stopped,
    seconds: result.seconds,
    test,
    testAccuracy: evalResult.accuracy,
    testLoss: evalResult.loss,
    predictions: evalResult.predictions,
    onnxAccuracy: onnx?.accuracy,
  });
  const summary = {
    out,
    model: spec.name,
    backend: backend.name,
    epochs: result.epochsCompleted,
    stopped: result.stopped,
    seconds: Number(result.seconds.toFixed(1)),
    testAccuracy: evalResult.accuracy,
    testLoss: evalResult.loss,
    onnxTestAccuracy: onnx?.accuracy,
    samplesPerSecond: lastRate(result.history),
  };
  await writeFile(join(out, 'result.json'), `${JSON.stringify(summary, null, 2)}\n`);
  // 130 = 128 + SIGINT, as a shell reports a Ctrl-C; the run directory is complete all the same.
  if (result.stopped?.reason === INTERRUPTED) setExitCode(130);
  if (flags.json) return printJson(io, summary);
  io.out(
    `test accuracy ${(evalResult.accuracy * 100).toFixed(2)}% (${test.count.toLocaleString('en-US')} images)` +
      (onnx ? `, ONNX ${(onnx.accuracy * 100).toFixed(2)}%` : '') +
      ` after ${result.epochsCompleted} epochs in ${result.seconds.toFixed(1)} s on ${backend.name}\n`,
  );
  io.out(`run directory: ${out} (report.md)\n`);
}

function lastRate(history: readonly EpochLogs[]): number | undefined {
  const last = history.at(-1);
  return last ? Math.round(last.samplesPerSecond) : undefined;
}

async function exportAndCheck(
  model: import('@tensorflow/tfjs').LayersModel,
  spec: ModelSpec,
  test: Dataset,
  out: string,
  normalization: 'unit' | { mean: number[]; std: number[] },
): Promise<{ path: string; accuracy: number }> {
  const onnx = await import('@lenet/onnx');
  const path = join(out, 'model.onnx');
  await onnx.exportOnnx(model, path, { preset: spec.name, classNames: test.classNames, normalization });
  const classifier = await loadClassifier(path, async () => ({ name: 'onnx' }));
  try {
    const { accuracy } = await classifier.evaluate(test, 256);
    return { path, accuracy };
  } finally {
    await classifier.dispose();
  }
}
