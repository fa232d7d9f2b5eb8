import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { isLenetError } from '@lenet/common';
import type { Dataset } from '@lenet/datasets';
import type { ModelSpec } from '@lenet/models';
import type { Callback, CheckpointState, EpochLogs, FitResult } from '@lenet/train';
import { DEFAULT_RECIPE, OPTIMIZER_NAMES, RECIPE_SCHEDULES, type Recipe } from '@lenet/train/recipes';
import type { Command } from 'commander';
import { activateBackend, CLI_BACKENDS, type CliBackend } from '../backend-arg.js';
import { CLI_DATASETS, type CliDatasetName, loadRequested } from '../data.js';
import { BadInputError, CliFailure, InterruptedError, UsageError } from '../errors.js';
import { type Interrupt, listenForInterrupt } from '../interrupt.js';
import { type CliIo, printJson } from '../io.js';
import { resolveModel } from '../model-arg.js';
import { nonNegativeInt, numberIn, oneOf, positiveInt, positiveNumber } from '../parse.js';
import { loadClassifier } from '../predictor.js';
import { writeRunReport } from '../report.js';
import { removeLeftovers } from '../run-dir.js';
import { lockRunDir } from '../run-lock.js';
import {
  absolutePaths,
  checkResumeFlags,
  type ResumeCheck,
  readRunOptions,
  writeRunOptions,
} from '../run-options.js';

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
  resume?: string;
  exportAnyway?: boolean;
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

/** `lenet train`: trains a preset or spec on a data set and fills a run directory. */
export function registerTrain(program: Command, io: CliIo): void {
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
    .option(
      '--label-smoothing <eps>',
      'label smoothing in [0, 1)',
      numberIn('--label-smoothing', 0, 1),
      DEFAULT_RECIPE.labelSmoothing,
    )
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
      'validation fraction split off the training set, in [0, 1)',
      numberIn('--val-fraction', 0, 1),
      DEFAULT_RECIPE.validationFraction,
    )
    .option(
      '--workers <n>',
      'threads splitting each batch (data-parallel; 1 = this thread only; at most the cores)',
      // More threads than cores only compete for them, each with its own model copy and backend.
      positiveInt('--workers', { max: availableParallelism(), why: "this machine's cores" }),
      1,
    )
    .option('--no-onnx', 'do not export model.onnx')
    .option('--out <dir>', 'run directory', `runs/train-${new Date().toISOString().replace(/[:.]/g, '-')}`)
    .option(
      '--resume <run-dir>',
      "continue an interrupted run from its last checkpoint, with the run's own options",
    )
    .option(
      '--export-anyway',
      'export model/ and model.onnx even when the loss became NaN or infinite (the exit code is 1 all the same)',
    )
    .option('--json', 'print the final result as JSON')
    .action(async (flags: TrainFlags, command: Command) => {
      const output = flags.json ? 'json' : 'text';
      if (flags.resume !== undefined) {
        await runTraining(await resumedRun(flags, command, output), io);
        return;
      }
      await runTraining(
        {
          recipe: flagsRecipe(flags),
          data: flags.data,
          limit: flags.limit,
          backend: flags.backend,
          workers: flags.workers,
          onnx: flags.onnx,
          exportAnyway: flags.exportAnyway ?? false,
          out: flags.out,
          output,
          reportFlags: { ...flags },
        },
        io,
      );
    });
}

/**
 * The run `--resume <dir>` continues: its saved options, with `--backend`, `--workers` and
 * `--json` free to change (how it runs, not what it computes) and every other flag given again
 * required to equal the saved value.
 */
async function resumedRun(
  flags: TrainFlags,
  command: Command,
  output: 'json' | 'text',
): Promise<TrainingRun> {
  const dir = resolve(flags.resume as string);
  const given = (key: keyof TrainFlags) => command.getOptionValueSource(key) === 'cli';
  if (given('out') && resolve(flags.out) !== dir) {
    throw new UsageError(
      `--out ${flags.out} differs from --resume ${flags.resume}: a resumed run continues in its own directory`,
    );
  }
  const saved = await readRunOptions(dir);
  const r = saved.recipe;
  const asGiven = absolutePaths(flagsRecipe(flags), flags.data);
  const table: [keyof TrainFlags, string, unknown, unknown][] = [
    ['model', '--model', asGiven.recipe.model, r.model],
    ['dataset', '--dataset', flags.dataset, r.dataset],
    ['data', '--data', asGiven.data, saved.data],
    ['epochs', '--epochs', flags.epochs, r.epochs],
    ['batchSize', '--batch-size', flags.batchSize, r.batchSize],
    ['optimizer', '--optimizer', flags.optimizer, r.optimizer],
    ['lr', '--lr', flags.lr, r.learningRate],
    ['schedule', '--schedule', flags.schedule, r.schedule],
    ['warmup', '--warmup', flags.warmup, r.warmupEpochs],
    ['labelSmoothing', '--label-smoothing', flags.labelSmoothing, r.labelSmoothing],
    ['normalize', '--normalize', flags.normalize, r.normalize],
    ['augment', '--augment', flags.augment ?? false, r.augment],
    ['seed', '--seed', flags.seed, r.seed],
    ['limit', '--limit', flags.limit, saved.limit],
    ['valFraction', '--val-fraction', flags.valFraction, r.validationFraction],
    ['onnx', '--no-onnx', flags.onnx, saved.onnx],
    ['exportAnyway', '--export-anyway', flags.exportAnyway ?? false, saved.exportAnyway],
  ];
  const checks: ResumeCheck[] = table
    .filter(([key]) => given(key))
    .map(([, flag, value, savedValue]) => ({ flag, given: value, saved: savedValue }));
  checkResumeFlags(dir, checks);
  return {
    recipe: r,
    data: saved.data,
    limit: saved.limit,
    backend: given('backend') ? flags.backend : saved.backend,
    workers: given('workers') ? flags.workers : saved.workers,
    onnx: saved.onnx,
    exportAnyway: saved.exportAnyway,
    out: dir,
    output,
    reportFlags: saved.reportFlags,
    resume: true,
  };
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
  /** Export even when the loss became NaN or infinite (the run still fails with exit code 1). */
  exportAnyway?: boolean;
  /** Run directory. */
  out: string;
  /** Continue the run in `out` from its last checkpoint (its `run.json` gave this run's options). */
  resume?: boolean;
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

/**
 * Trains `run.recipe` and fills the run directory (spec, history, checkpoints, model, ONNX, plots,
 * report, result.json): what `lenet train` and `lenet reproduce` run. The directory is locked for
 * the run's duration; the leftovers of killed runs in it are removed first. Ctrl-C stops after the
 * current batch with a resumable checkpoint ({@link InterruptedError}, exit 130); a loss that
 * became NaN or infinite fails the run ({@link CliFailure}) with nothing exported unless
 * `exportAnyway`.
 */
export async function runTraining(run: TrainingRun, io: CliIo): Promise<TrainingSummary> {
  const out = resolve(run.out);
  try {
    await mkdir(out, { recursive: true });
  } catch (e) {
    throw new BadInputError(`${out}: cannot create the run directory (${(e as Error).message})`, {
      cause: e,
    });
  }
  const lock = await lockRunDir(out, run.resume ? 'lenet train --resume' : 'lenet train', io.err);
  const interrupt = listenForInterrupt(io, () => lock.release());
  try {
    return await trainInto(out, run, interrupt, io);
  } finally {
    interrupt.dispose();
    lock.release();
  }
}

async function trainInto(
  out: string,
  run: TrainingRun,
  interrupt: Interrupt,
  io: CliIo,
): Promise<TrainingSummary> {
  const { recipe } = run;
  const trainPkg = await import('@lenet/train');
  const checkpoints = join(out, 'checkpoints');
  if (run.resume) {
    // Before the clean-up: a checkpoint left between its two renames is recovered from its old copy.
    const ckpt = await trainPkg
      .readCheckpoint(checkpoints, { onNotice: (m) => io.err(`${m}\n`) })
      .catch((e: unknown) => {
        throw isLenetError(e)
          ? new BadInputError(`${out}: nothing to resume (${e.message})`, { cause: e })
          : e;
      });
    if (run.output === 'text') io.err(`resuming ${out} ${checkpointPlace(ckpt.state)}\n`);
  }
  const removed = await removeLeftovers(out);
  if (removed.length > 0) io.err(`removed what an interrupted run left in ${out}: ${removed.join(', ')}\n`);
  if (!run.resume) {
    await writeRunOptions(out, {
      ...absolutePaths(recipe, run.data),
      ...(run.limit === undefined ? {} : { limit: run.limit }),
      backend: run.backend,
      workers: run.workers,
      onnx: run.onnx,
      exportAnyway: run.exportAnyway ?? false,
      reportFlags: run.reportFlags,
    });
  }

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
  models.saveSpec(join(out, 'spec.json'), spec);

  const model = buildModel(spec, { seed: recipe.seed });
  try {
    const guard = trainPkg.nanGuard({ log: (m) => io.err(`${m}\n`) });
    const callbacks: Callback[] = [
      guard,
      trainPkg.historyWriter(out),
      trainPkg.modelCheckpoint({ dir: checkpoints, save: 'both' }),
    ];
    if (run.output === 'text')
      callbacks.push(trainPkg.progressBar({ mode: io.interactive ? 'bar' : 'lines' }));
    const options = trainPkg.recipeToFitOptions(recipe, {
      train,
      callbacks,
      spec,
      workers: run.workers,
      signal: interrupt.signal,
      ...(run.resume ? { resume: checkpoints } : {}),
    });
    // Statistics of the training images ('standard'), kept with the model so eval/predict/ONNX normalise the same way.
    const normalize = options.normalize;
    const result = await trainPkg.fit(model, train, options);
    const base = { out, model: spec.name, backend: backend.name, epochs: result.epochsCompleted };
    const stopIfInterrupted = async () => {
      if (interrupt.requested)
        await interrupted({ ...base, stopped: result.stopped, seconds: result.seconds }, run, io);
    };
    await stopIfInterrupted();
    if (guard.message !== null && !run.exportAnyway) {
      throw new CliFailure(
        `${guard.message}; nothing exported (--export-anyway exports it all the same); checkpoints/last keeps the last state with a finite loss, if any`,
      );
    }

    const evalResult = await trainPkg.evaluate(model, test, { batchSize: 256, normalize });
    await stopIfInterrupted();
    await saveModel(model, join(out, 'model'), {
      metadata: { spec, classNames: test.classNames, normalize },
    });
    await stopIfInterrupted();
    let onnx: { path: string; accuracy: number | undefined } | undefined;
    if (run.onnx) onnx = await exportAndCheck(model, spec, test, out, normalize, io);
    await stopIfInterrupted();

    await writeRunReport(out, {
      spec,
      adaptations,
      backend: backend.name,
      flags: run.reportFlags,
      history: result.history,
      stopped: result.stopped,
      seconds: result.seconds,
      test,
      testAccuracy: evalResult.accuracy,
      testLoss: evalResult.loss,
      predictions: evalResult.predictions,
      onnxAccuracy: onnx?.accuracy,
    });
    const summary: TrainingSummary = {
      ...base,
      stopped: result.stopped,
      seconds: Number(result.seconds.toFixed(1)),
      testAccuracy: evalResult.accuracy,
      testLoss: evalResult.loss,
      onnxTestAccuracy: onnx?.accuracy,
      samplesPerSecond: lastRate(result.history),
    };
    await writeFile(join(out, 'result.json'), `${JSON.stringify(summary, null, 2)}\n`);
    if (run.output === 'json') printJson(io, summary);
    if (run.output === 'text') {
      io.out(
        `test accuracy ${(evalResult.accuracy * 100).toFixed(2)}% (${test.count.toLocaleString('en-US')} images)` +
          (onnx?.accuracy !== undefined ? `, ONNX ${(onnx.accuracy * 100).toFixed(2)}%` : '') +
          ` after ${result.epochsCompleted} epochs in ${result.seconds.toFixed(1)} s on ${backend.name}\n`,
      );
      io.out(`run directory: ${out} (report.md)\n`);
    }
    if (guard.message !== null)
      throw new CliFailure(`${guard.message}; exported all the same (--export-anyway)`);
    return summary;
  } finally {
    model.dispose();
  }
}

/** Where a checkpoint was taken, e.g. `in epoch 3 after batch 17/94` or `after epoch 2`. */
function checkpointPlace(state: CheckpointState): string {
  const p = state.position;
  return p
    ? `in epoch ${state.epoch + 1} after batch ${p.batch}/${p.stepsPerEpoch}`
    : `after epoch ${state.epoch}`;
}

/**
 * Ends a run stopped by Ctrl-C: says where its checkpoint is and how to continue (JSON with
 * `--json`), then throws {@link InterruptedError} (exit 130). Nothing is evaluated or exported.
 */
async function interrupted(
  summary: Pick<TrainingSummary, 'out' | 'model' | 'backend' | 'epochs' | 'stopped' | 'seconds'>,
  run: TrainingRun,
  io: CliIo,
): Promise<never> {
  const { readCheckpoint } = await import('@lenet/train');
  const dir = join(summary.out, 'checkpoints');
  const ckpt = await readCheckpoint(dir, { onNotice: () => {} }).catch(() => null);
  const resume = `lenet train --resume ${summary.out}`;
  let message: string;
  if (!ckpt) message = 'interrupted before the first checkpoint: nothing to resume';
  else
    message = `interrupted ${checkpointPlace(ckpt.state)}: resumable checkpoint in ${ckpt.dir}; continue with: ${resume}`;
  if (run.output === 'json') {
    printJson(io, {
      ...summary,
      seconds: Number(summary.seconds.toFixed(1)),
      checkpoint: ckpt?.dir ?? null,
      resume: ckpt ? resume : null,
    });
  }
  throw new InterruptedError(message);
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
