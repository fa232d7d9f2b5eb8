import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { DEFAULT_RECIPE, OPTIMIZER_NAMES, RECIPE_SCHEDULES, type Recipe } from '@lenet/train/recipes';
import type { Command } from 'commander';
import { CLI_BACKENDS, type CliBackend } from '../backend-arg.js';
import { CLI_DATASETS, type CliDatasetName } from '../data.js';
import { UsageError } from '../errors.js';
import type { CliIo } from '../io.js';
import { nonNegativeInt, numberIn, oneOf, positiveInt, positiveNumber } from '../parse.js';
import { absolutePaths, checkResumeFlags, type ResumeCheck, readRunOptions } from '../run-options.js';
import { runTraining, type TrainingRun } from '../training-run.js';

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
