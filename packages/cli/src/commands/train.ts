import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { isLenetError } from '@lenet/common';
import type { Dataset } from '@lenet/datasets';
import type { ModelSpec } from '@lenet/models';
import type { Callback, EpochLogs, FitResult } from '@lenet/train';
import { DEFAULT_RECIPE, OPTIMIZER_NAMES, RECIPE_SCHEDULES, type Recipe } from '@lenet/train/recipes';
import type { Command } from 'commander';
import { activateBackend, CLI_BACKENDS, type CliBackend } from '../backend-arg.js';
import { CLI_DATASETS, type CliDatasetName, loadRequested } from '../data.js';
import { UsageError } from '../errors.js';
import { type CliIo, printJson } from '../io.js';
import { resolveModel } from '../model-arg.js';
import { nonNegativeInt, oneOf, positiveInt, positiveNumber } from '../parse.js';
import { plural } from '../plural.js';
import { loadClassifier } from '../predictor.js';
import { writeRunReport } from '../report.js';

interface TrainFlags {
  model: string;
  dataset: CliDatasetName;
  data?: string;
  epochs: number;
  batchSize: number;
  optimizer: Recipe['optimizer'];
  lr: number;
  schedule: Recipe['schedule'];
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

/** The recipe the flags describe (each flag defaults to {@link DEFAULT_RECIPE}'s field). */
function flagsRecipe(flags: TrainFlags): Recipe {
  return {
    model: flags.model,
    dataset: flags.dataset,
    epochs: flags.epochs,
    batchSize: flags.batchSize,
    optimizer: flags.optimizer,
    learningRate: flags.lr,
    schedule: flags.schedule,
    warmupEpochs: flags.warmup,
    labelSmoothing: flags.labelSmoothing,
    normalize: flags.normalize,
    augment: flags.augment ?? false,
    validationFraction: flags.valFraction,
    seed: flags.seed,
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
    .option('--model <preset|spec.json>', 'preset name or spec file', DEFAULT_RECIPE.model)
    .option(
      '--dataset <name>',
      CLI_DATASETS.join(' | '),
      oneOf('--dataset', CLI_DATASETS),
      DEFAULT_RECIPE.dataset,
    )
    .option('--data <dir>', 'data directory (default for mnist: the bundled real MNIST)')
    .option('--epochs <n>', 'epochs', positiveInt('--epochs'), DEFAULT_RECIPE.epochs)
    .option('--batch-size <n>', 'batch size', positiveInt('--batch-size'), DEFAULT_RECIPE.batchSize)
    .option(
      '--optimizer <name>',
      OPTIMIZER_NAMES.join(' | '),
      oneOf('--optimizer', OPTIMIZER_NAMES),
      DEFAULT_RECIPE.optimizer,
    )
    .option(
      '--lr <rate>',
      'learning rate (the peak for one-cycle)',
      positiveNumber('--lr'),
      DEFAULT_RECIPE.learningRate,
    )
    .option(
      '--schedule <name>',
      RECIPE_SCHEDULES.join(' | '),
      oneOf('--schedule', RECIPE_SCHEDULES),
      DEFAULT_RECIPE.schedule,
    )
    .option('--label-smoothing <eps>', 'label smoothing in [0, 1)', Number, DEFAULT_RECIPE.labelSmoothing)
    .option(
      '--normalize <mode>',
      'unit (pixel/255) or standard (per-channel mean/std of the training set)',
      oneOf('--normalize', ['unit', 'standard'] as const),
      DEFAULT_RECIPE.normalize,
    )
    .option(
      '--warmup <epochs>',
      'linear warm-up epochs',
      nonNegativeInt('--warmup'),
      DEFAULT_RECIPE.warmupEpochs,
    )
    .option('--augment', 'random crops (and flips for CIFAR) on training batches')
    .option('--backend <name>', CLI_BACKENDS.join(' | '), oneOf('--backend', CLI_BACKENDS), 'auto')
    .option(
      '--seed <n>',
      'seed for weights, shuffling and augmentation',
      nonNegativeInt('--seed'),
      DEFAULT_RECIPE.seed,
    )
    .option('--limit <n>', 'train on the first n images only', positiveInt('--limit'))
    .option(
      '--val-fraction <f>',
      'validation fraction split off the training set',
      Number,
      DEFAULT_RECIPE.validationFraction,
    )
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
      const summary = await runTraining(
        {
          recipe: flagsRecipe(flags),
          data: flags.data,
          limit: flags.limit,
          backend: flags.backend,
          workers: flags.workers,
          onnx: flags.onnx,
          out: flags.out,
          output: flags.json ? 'json' : 'text',
          reportFlags: { ...flags },
        },
        io,
      );
      // 130 = 128 + SIGINT, as a shell reports a Ctrl-C; the run directory is complete all the same.
      if (wasInterrupted(summary)) setExitCode(130);
    });
}

/** One training run: a recipe, and where and how to run it. */
export interface TrainingRun {
  recipe: Recipe;
  /** Data directory (`--data`). */
  data?: string;
  /** Train on the first `limit` images only. */
  limit?: number;
  backend: CliBackend;
  workers: number;
  /** Export and check `model.onnx`. */
  onnx: boolean;
  /** Run directory. */
  out: string;
  /** `json`: the summary as JSON; `text`: progress and a two-line summary; `none`: print nothing. */
  output: 'json' | 'text' | 'none';
  /** The options report.md records. */
  reportFlags: Record<string, unknown>;
}

/** What a run prints with `--json` (and writes to result.json). */
export interface TrainingSummary {
  out: string;
  model: string;
  backend: string;
  epochs: number;
  stopped: FitResult['stopped'];
  seconds: number;
  testAccuracy: number;
  testLoss: number;
  onnxTestAccuracy: number | undefined;
  samplesPerSecond: number | undefined;
}

/** Whether a run ended early on Ctrl-C (its summary's `stopped.reason`). */
export function wasInterrupted(summary: TrainingSummary): boolean {
  return summary.stopped?.reason === INTERRUPTED;
}

/**
 * Trains `run.recipe` and fills the run directory (spec, history, checkpoints, model, ONNX, plots,
 * report, result.json): what `lenet train` and `lenet reproduce` run.
 */
export async function runTraining(run: TrainingRun, io: CliIo): Promise<TrainingSummary> {
  const { recipe } = run;
  const out = resolve(run.out);
  const { head } = await import('@lenet/datasets');
  const all = await loadRequested({ name: recipe.dataset, dir: run.data, split: 'train' });
  const train = run.limit ? head(all, run.limit) : all;
  const test = await loadRequested({ name: recipe.dataset, dir: run.data, split: 'test' });
  const { spec, adaptations } = await resolveModel(recipe.model, {
    input: [train.height, train.width, train.channels],
    classes: train.classNames.length,
  });
  for (const a of adaptations) io.err(`model adapted: ${a}\n`);
  const backend = await activateBackend(run.backend, io, run.output !== 'text');

  const models = await import('@lenet/models');
  const { buildModel, saveModel } = await import('@lenet/models/tf');
  const trainPkg = await import('@lenet/train');
  await mkdir(out, { recursive: true });
  models.saveSpec(join(out, 'spec.json'), spec);

  const model = buildModel(spec, { seed: recipe.seed });
  const stop = interruptStop(io);
  let result: FitResult;
  // Statistics of the training images ('standard'), kept with the model so eval/predict/ONNX normalise the same way.
  let normalize: 'unit' | { mean: number[]; std: number[] };
  const learningRates = trainPkg.learningRateLogger({ every: 'step' });
  try {
    const callbacks: Callback[] = [
      stop.callback,
      trainPkg.nanGuard(),
      trainPkg.historyWriter(out),
      trainPkg.modelCheckpoint({ dir: join(out, 'checkpoints'), save: 'both' }),
      learningRates,
    ];
    if (run.output === 'text')
      callbacks.push(trainPkg.progressBar({ mode: io.interactive ? 'bar' : 'lines' }));
    const options = trainPkg.recipeToFitOptions(recipe, { train, callbacks, spec, workers: run.workers });
    normalize = options.normalize;
    result = await trainPkg.fit(model, train, options);
  } catch (e) {
    model.dispose();
    throw e;
  } finally {
    stop.dispose();
  }

  const evalResult = await trainPkg.evaluate(model, test, { batchSize: 256, normalize, probabilities: true });
  await saveModel(model, join(out, 'model'), {
    metadata: { spec, classNames: test.classNames, normalize },
  });
  let onnx: { path: string; accuracy: number | undefined } | undefined;
  if (run.onnx) onnx = await exportAndCheck(model, spec, test, out, normalize, io);
  model.dispose();

  await writeRunReport(out, {
    spec,
    adaptations,
    backend: backend.name,
    run,
    history: result.history,
    learningRates: learningRates.records,
    stopped: result.stopped,
    seconds: result.seconds,
    train,
    trainTotal: all.count,
    test,
    testAccuracy: evalResult.accuracy,
    testLoss: evalResult.loss,
    predictions: evalResult.predictions,
    probabilities: evalResult.probabilities!,
    onnxAccuracy: onnx?.accuracy,
  });
  const summary: TrainingSummary = {
    out,
    model: spec.name,
    backend: backend.name,
    epochs: result.epochsCompleted,
    // Epochs count from 1 in every file a user reads (fit's are 0-based).
    stopped: result.stopped && { ...result.stopped, epoch: result.stopped.epoch + 1 },
    seconds: Number(result.seconds.toFixed(1)),
    testAccuracy: evalResult.accuracy,
    testLoss: evalResult.loss,
    onnxTestAccuracy: onnx?.accuracy,
    samplesPerSecond: lastRate(result.history),
  };
  await writeFile(join(out, 'result.json'), `${JSON.stringify(summary, null, 2)}\n`);
  if (run.output === 'json') printJson(io, summary);
  if (run.output !== 'text') return summary;
  io.out(
    `test accuracy ${(evalResult.accuracy * 100).toFixed(2)}% (${plural(test.count, 'image')})` +
      (onnx?.accuracy !== undefined ? `, ONNX ${(onnx.accuracy * 100).toFixed(2)}%` : '') +
      ` after ${plural(result.epochsCompleted, 'epoch')} in ${result.seconds.toFixed(1)} s on ${backend.name}\n`,
  );
  io.out(`run directory: ${out} (report.md)\n`);
  return summary;
}

function lastRate(history: readonly EpochLogs[]): number | undefined {
  const last = history.at(-1);
  return last ? Math.round(last.samplesPerSecond) : undefined;
}

async function exportAndCheck(
  model: import('../tfjs.js').LayersModel,
  spec: ModelSpec,
  test: Dataset,
  out: string,
  normalization: 'unit' | { mean: number[]; std: number[] },
  io: CliIo,
): Promise<{ path: string; accuracy: number | undefined }> {
  const onnx = await import('@lenet/onnx');
  const path = join(out, 'model.onnx');
  await onnx.exportOnnx(model, path, { preset: spec.name, classNames: test.classNames, normalization });
  let classifier: Awaited<ReturnType<typeof loadClassifier>>;
  try {
    classifier = await loadClassifier(path, async () => ({ name: 'onnx' }));
  } catch (e) {
    // onnxruntime-node is optional: the file is written, only its check needs the runtime.
    if (!(isLenetError(e) && e.code === 'RUNTIME_MISSING')) throw e;
    io.err(`model.onnx written; not checked: ${e.message}\n`);
    return { path, accuracy: undefined };
  }
  try {
    const { evaluate } = await import('@lenet/train');
    const { accuracy } = await evaluate(classifier.classifier, test, { batchSize: 256 });
    return { path, accuracy };
  } finally {
    await classifier.dispose();
  }
}
