import { type AugmentOptions, batchCount, batches, type Dataset, type MeanStd, split } from '@lenet/datasets';
import type { ModelSpec } from '@lenet/models';
import { hasDropoutBeforeBatchNorm } from './batch-norm.js';
import type { Callback } from './callback.js';
import {
  checkCheckpointFits,
  type LoadedCheckpoint,
  readCheckpoint,
  restoreCheckpoint,
} from './checkpoint.js';
import { CheckpointError } from './checkpoint-error.js';
import { TrainError } from './errors.js';
import type { ClipOptions } from './gradients.js';
import type { EpochLogs } from './logs.js';
import { type LoopConfig, runLoop } from './loop.js';
import { checkDataset, checkPositiveInteger, modelInfo } from './model-info.js';
import type { OptimizerConfig, OptimizerName } from './optimizers.js';
import { ParallelTrainer } from './parallel/trainer.js';
import { createSchedule, type ScheduleConfig } from './schedules.js';
import { checkTrainStepOptions, StepRunner } from './step.js';
import type * as tf from './tfjs.js';

/** Split a validation set off the training data: a seeded, stratified fraction. */
export interface ValidationSplit {
  /** Fraction of the training data held out, in (0, 1). */
  fraction: number;
  /** Seed of the selection (default: the run's seed). */
  seed?: number;
  /** Keep class proportions (default true). */
  stratified?: boolean;
}

/** Options of {@link fit}. Every field is optional. */
export interface FitOptions {
  /** Total epochs (a resumed run counts the epochs already done). Default 10. */
  epochs?: number;
  /** Samples per step. Default 32. */
  batchSize?: number;
  /** `'adam'` (default), `'adamw'`, `'sgd'`, `'rmsprop'`, or a config with hyper-parameters. */
  optimizer?: OptimizerName | OptimizerConfig;
  /** Base learning rate; overrides the optimizer config's. */
  learningRate?: number;
  /** Learning-rate schedule (default constant). */
  schedule?: ScheduleConfig;
  /** Weight decay on kernels; overrides the optimizer config's (see {@link OptimizerConfig}). */
  weightDecay?: number;
  /** Label smoothing ε in [0, 1). Default 0. */
  labelSmoothing?: number;
  /** Clip gradients to this global L2 norm. */
  clipNorm?: number;
  /** Clip every gradient element to ±clipValue. */
  clipValue?: number;
  /** A validation data set, or a fraction of the training data to split off with a seed. */
  validation?: Dataset | ValidationSplit;
  /** Batch size for validation passes (default max(batchSize, 256)). */
  validationBatchSize?: number;
  /** Augment training batches: `true` for ±2 px random crops (MNIST-safe: no flips), or options. */
  augment?: boolean | AugmentOptions;
  /** Input normalisation, `'unit'` (pixel / 255, default) or per-channel `{ mean, std }`. */
  normalize?: 'unit' | MeanStd;
  /** Shuffle every epoch (default true). */
  shuffle?: boolean;
  /** Drop the last incomplete batch of each epoch (default false). */
  dropLast?: boolean;
  /** Seed of shuffling, augmentation, dropout masks and the validation split. Default 0. */
  seed?: number;
  /** Callbacks, called in order. */
  callbacks?: readonly Callback[];
  /**
   * Continue from a checkpoint directory written by `modelCheckpoint` or `ctx.saveCheckpoint`. A
   * checkpoint saved between batches continues inside its epoch, in the same order, to the same
   * result as an uninterrupted run.
   */
  resume?: string;
  /**
   * Stops training after the current batch once aborted (`FitResult.stopped.reason` is the abort
   * reason when it is a string or an Error). The loop then yields to the event loop after every
   * step, so that signal handlers (Ctrl-C) run while it trains.
   */
  signal?: AbortSignal;
  /** The spec the model was built from: saved in checkpoints and checked on resume. */
  spec?: ModelSpec;
  /**
   * Threads computing gradients, the main thread included (default 1). With N > 1, synchronous
   * data-parallel training: each batch is split into N shards, N − 1 `worker_threads` (each with
   * its own backend and a model built from `spec`, which is then required) compute theirs while
   * the main thread computes the first; gradients are averaged and applied once per step.
   * Where the step runs compiled and the workers have no core to spare, 2 workers measured
   * 0.56–1.7× of 1 on 2 cores (slower for models whose steps take a few ms, such as mlp2: one
   * thread already spreads its big kernels over the cores, and every step adds messaging and
   * averaging): `fit` then emits a process warning (code `LENET_WORKERS_SLOWER`) once per process.
   */
  workers?: number;
  /**
   * After each epoch's training steps (before validation), re-estimate batch-norm moving
   * statistics with dropout off over this many training batches (see `recalibrateBatchNorm`).
   * `'auto'` (default): 100 batches when a dropout layer precedes a batch-norm layer, else off.
   * Training itself is unaffected: it uses batch statistics.
   */
  recalibrateBatchNorm?: 'auto' | boolean | number;
  /**
   * Take the compiled training step where it covers the model (default true; see
   * `TrainStepOptions.compiled`), and the compiled forward passes for validation and batch-norm
   * recalibration. `false` always runs TensorFlow.js autodiff, `model.predict` and `model.apply`.
   */
  compiled?: boolean;
}

/** What {@link fit} returns. */
export interface FitResult {
  /** One entry per finished epoch (resumed history included). */
  history: EpochLogs[];
  /** Epochs finished in total. */
  epochsCompleted: number;
  /** Steps (batches) done in total. */
  steps: number;
  /** Why training ended early, or null if it ran all epochs. */
  stopped: { reason: string; epoch: number } | null;
  /** Wall time of this call. */
  seconds: number;
  /** The checkpoint this run continued from, if any: its epochs done, and batches done in the next one. */
  resumedFrom: { dir: string; epoch: number; batch: number } | null;
}

/** Augmentation used for `augment: true`: random crops with 2 px zero padding (±2 px shifts). */
export const DEFAULT_AUGMENT: AugmentOptions = { crop: { padding: 2 } };

/** Everything `fit` runs with, checked: what the loop needs plus the step's settings. */
interface Prepared extends LoopConfig {
  labelSmoothing: number;
  clip: ClipOptions;
  optimizer: OptimizerConfig;
  workers: number;
  signal: AbortSignal | undefined;
}

/** Checks every option and the data against the model; throws {@link TrainError} before any work. */
function prepare(
  model: tf.LayersModel,
  data: Dataset,
  options: FitOptions,
  checkpointSeed?: number,
): Prepared {
  const info = modelInfo(model);
  const epochs = options.epochs ?? 10;
  checkPositiveInteger('epochs', epochs);
  const batchSize = options.batchSize ?? 32;
  checkPositiveInteger('batchSize', batchSize);
  const valBatchSize = options.validationBatchSize ?? Math.max(batchSize, 256);
  checkPositiveInteger('validationBatchSize', valBatchSize);
  const seed = options.seed ?? checkpointSeed ?? 0;
  if (!Number.isInteger(seed)) throw new TrainError('seed', `seed must be an integer, got ${seed}`);
  const labelSmoothing = options.labelSmoothing ?? 0;
  const clip: ClipOptions = { clipNorm: options.clipNorm, clipValue: options.clipValue };
  const base: OptimizerConfig =
    typeof options.optimizer === 'object' ? { ...options.optimizer } : { name: options.optimizer ?? 'adam' };
  if (options.learningRate !== undefined) base.learningRate = options.learningRate;
  if (options.weightDecay !== undefined) base.weightDecay = options.weightDecay;
  const compiled = options.compiled ?? true;
  checkTrainStepOptions({ optimizer: base, labelSmoothing, clip, compiled });
  const callbacks = options.callbacks ?? [];
  if (!Array.isArray(callbacks) || callbacks.some((c) => typeof c !== 'object' || c === null)) {
    throw new TrainError('callbacks', 'callbacks must be a list of callback objects');
  }

  checkDataset(data, info, 'train');
  let train = data;
  let val: Dataset | undefined;
  const v = options.validation;
  if (v !== undefined) {
    if ('images' in v) {
      checkDataset(v, info, 'validation');
      val = v;
    } else {
      if (!(v.fraction > 0 && v.fraction < 1)) {
        throw new TrainError(
          'validation.fraction',
          `validation.fraction must be in (0, 1), got ${v.fraction}`,
        );
      }
      try {
        ({ train, val } = split(data, {
          valFraction: v.fraction,
          seed: v.seed ?? seed,
          stratified: v.stratified ?? true,
        }));
      } catch (error) {
        throw new TrainError('validation', `cannot split off validation data: ${(error as Error).message}`, {
          cause: error,
        });
      }
    }
  }
  const dropLast = options.dropLast ?? false;
  const stepsPerEpoch = batchCount(train, { batchSize, dropLast });
  if (stepsPerEpoch === 0) {
    throw new TrainError(
      'batchSize',
      `batchSize ${batchSize} with dropLast leaves no batch of ${train.count} samples`,
    );
  }
  const augment = options.augment === true ? DEFAULT_AUGMENT : options.augment || undefined;
  if (augment) {
    // Let the data set package validate the options now rather than at the first batch.
    batches(train, { batchSize: 1, augment }).next();
  }
  const normalize = options.normalize ?? 'unit';
  const r = options.recalibrateBatchNorm ?? 'auto';
  let recalibrate: number;
  if (r === 'auto') recalibrate = hasDropoutBeforeBatchNorm(model) ? 100 : 0;
  else if (typeof r === 'boolean') recalibrate = r ? 100 : 0;
  else {
    checkPositiveInteger('recalibrateBatchNorm', r);
    recalibrate = r;
  }
  const workers = options.workers ?? 1;
  checkPositiveInteger('workers', workers);
  const signal = options.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TrainError('signal', 'signal must be an AbortSignal');
  }
  if (workers > 1 && options.spec === undefined) {
    throw new TrainError(
      'workers',
      `workers: ${workers} needs options.spec (the ModelSpec the model was built from): each worker thread builds its own copy of the model from it`,
    );
  }
  return {
    train,
    val,
    epochs,
    batchSize,
    valBatchSize,
    seed,
    compiled,
    labelSmoothing,
    clip,
    optimizer: base,
    augment,
    normalize,
    shuffle: options.shuffle ?? true,
    dropLast,
    stepsPerEpoch,
    callbacks,
    workers,
    recalibrate,
    signal,
  };
}

/**
 * A checkpoint saved between batches names a place in an epoch of its run's batches: this run
 * must cut its epochs the same way.
 */
function checkPositionFits(ckpt: LoadedCheckpoint, p: Prepared): void {
  const { position, batchSize } = ckpt.state;
  if (!position) return;
  if (batchSize !== p.batchSize || position.stepsPerEpoch !== p.stepsPerEpoch) {
    throw new CheckpointError(
      ckpt.dir,
      `checkpoint was saved inside epoch ${ckpt.state.epoch + 1} at batch ${position.batch} of ${position.stepsPerEpoch} (batch size ${batchSize}); this run has ${p.stepsPerEpoch} batches of ${p.batchSize} per epoch: resume with the same data and batch size`,
    );
  }
}

/**
 * Trains a classifier with a custom loop over batches streamed from `@lenet/datasets` (the whole
 * set is never one tensor). Loss and accuracy are summed on the device and read back once per
 * epoch (plus whenever a callback such as the progress bar asks). Returns the history.
 *
 * Throws {@link TrainError} for bad options or data and {@link CheckpointError} for an unusable
 * resume directory, in both cases before training starts.
 */
export async function fit(
  model: tf.LayersModel,
  data: Dataset,
  options: FitOptions = {},
): Promise<FitResult> {
  const started = performance.now();
  let ckpt: LoadedCheckpoint | undefined;
  if (options.resume !== undefined) {
    // Validate the plain options first so that a typo is reported before any file is read.
    prepare(model, data, options);
    ckpt = await readCheckpoint(options.resume);
  }
  const p = prepare(model, data, options, ckpt?.state.seed);
  const info = modelInfo(model);
  const trainStep = new StepRunner(model, {
    optimizer: p.optimizer,
    labelSmoothing: p.labelSmoothing,
    clip: p.clip,
    seed: p.seed,
    compiled: p.compiled,
  });
  const { optimizer } = trainStep;
  let parallel: ParallelTrainer | undefined;
  try {
    const schedule = createSchedule(options.schedule, {
      baseLearningRate: optimizer.config.learningRate,
      stepsPerEpoch: p.stepsPerEpoch,
      epochs: p.epochs,
      defaultMonitor: p.val ? 'valLoss' : 'loss',
    });
    const history: EpochLogs[] = [];
    let step = 0;
    let initialEpoch = 0;
    if (ckpt) {
      checkCheckpointFits(ckpt, model, optimizer, options.spec);
      checkPositionFits(ckpt, p);
      restoreCheckpoint(ckpt, model, optimizer);
      schedule.restore(ckpt.state.schedule);
      history.push(...ckpt.state.history);
      step = ckpt.state.step;
      initialEpoch = ckpt.state.epoch;
    }
    if (p.workers > 1 && options.spec) {
      parallel = await ParallelTrainer.start({ trainStep, spec: options.spec, workers: p.workers });
    }
    const outcome = await runLoop({
      model,
      info,
      config: p,
      trainStep,
      parallel,
      schedule,
      history,
      step,
      initialEpoch,
      position: ckpt?.state.position,
      spec: options.spec,
      signal: p.signal,
    });
    return {
      history,
      epochsCompleted: history.length,
      steps: outcome.steps,
      stopped: outcome.stopped,
      seconds: (performance.now() - started) / 1000,
      resumedFrom: ckpt
        ? { dir: ckpt.dir, epoch: ckpt.state.epoch, batch: ckpt.state.position?.batch ?? 0 }
        : null,
    };
  } finally {
    await parallel?.dispose();
    trainStep.dispose();
  }
}
