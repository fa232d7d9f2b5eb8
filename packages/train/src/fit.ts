import {
  type AugmentOptions,
  type Batch,
  batchCount,
  batches,
  type Dataset,
  type MeanStd,
  mixSeed,
  split,
} from '@lenet/datasets';
import type { ModelSpec } from '@lenet/models';
import * as tf from '@tensorflow/tfjs';
import { hasDropoutBeforeBatchNorm, recalibrateBatchNorm } from './batch-norm.js';
import type {
  BatchLogs,
  Callback,
  HookResult,
  HookReturn,
  NonFiniteLoss,
  RunningMetrics,
  TrainContext,
} from './callback.js';
import {
  checkCheckpointFits,
  type LoadedCheckpoint,
  readCheckpoint,
  restoreCheckpoint,
  writeCheckpoint,
} from './checkpoint.js';
import { TrainError } from './errors.js';
import { evaluateSums } from './evaluate.js';
import { clipGradients } from './gradients.js';
import type { EpochLogs } from './logs.js';
import { correctCount, crossEntropySum } from './loss.js';
import { checkDataset, checkPositiveInteger, modelInfo } from './model-info.js';
import {
  createOptimizer,
  type OptimizerConfig,
  type OptimizerName,
  resolveOptimizerConfig,
  type TrainOptimizer,
} from './optimizers.js';
import { ParallelTrainer } from './parallel/trainer.js';
import { createSchedule, type ScheduleConfig } from './schedules.js';

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
  /** Continue from a checkpoint directory written by `modelCheckpoint` or `ctx.saveCheckpoint`. */
  resume?: string;
  /** The spec the model was built from: saved in checkpoints and checked on resume. */
  spec?: ModelSpec;
  /**
   * Threads computing gradients, the main thread included (default 1). With N > 1, synchronous
   * data-parallel training: each batch is split into N shards, N − 1 `worker_threads` (each with
   * its own backend and a model built from `spec`, which is then required) compute theirs while
   * the main thread computes the first; gradients are averaged and applied once per step.
   */
  workers?: number;
  /**
   * After each epoch's training steps (before validation), re-estimate batch-norm moving
   * statistics with dropout off over this many training batches (see `recalibrateBatchNorm`).
   * `'auto'` (default): 100 batches when a dropout layer precedes a batch-norm layer, else off.
   * Training itself is unaffected: it uses batch statistics.
   */
  recalibrateBatchNorm?: 'auto' | boolean | number;
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
  /** The checkpoint this run continued from, if any. */
  resumedFrom: { dir: string; epoch: number } | null;
}

/** Augmentation used for `augment: true`: random crops with 2 px zero padding (±2 px shifts). */
export const DEFAULT_AUGMENT: AugmentOptions = { crop: { padding: 2 } };

interface Prepared {
  train: Dataset;
  val: Dataset | undefined;
  epochs: number;
  batchSize: number;
  valBatchSize: number;
  seed: number;
  labelSmoothing: number;
  clip: { clipNorm?: number; clipValue?: number };
  optimizer: OptimizerConfig;
  augment: AugmentOptions | undefined;
  normalize: 'unit' | MeanStd;
  shuffle: boolean;
  dropLast: boolean;
  stepsPerEpoch: number;
  callbacks: readonly Callback[];
  workers: number;
  /** Batches of batch-norm recalibration after each epoch (0: off). */
  recalibrate: number;
}

function optionalPositive(field: string, value: number | undefined): void {
  if (value !== undefined && !(Number.isFinite(value) && value > 0)) {
    throw new TrainError(field, `${field} must be a positive number, got ${value}`);
  }
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
  if (!(labelSmoothing >= 0 && labelSmoothing < 1)) {
    throw new TrainError('labelSmoothing', `labelSmoothing must be in [0, 1), got ${labelSmoothing}`);
  }
  optionalPositive('clipNorm', options.clipNorm);
  optionalPositive('clipValue', options.clipValue);
  const base: OptimizerConfig =
    typeof options.optimizer === 'object' ? { ...options.optimizer } : { name: options.optimizer ?? 'adam' };
  if (options.learningRate !== undefined) base.learningRate = options.learningRate;
  if (options.weightDecay !== undefined) base.weightDecay = options.weightDecay;
  resolveOptimizerConfig(base);
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
    labelSmoothing,
    clip: { clipNorm: options.clipNorm, clipValue: options.clipValue },
    optimizer: base,
    augment,
    normalize,
    shuffle: options.shuffle ?? true,
    dropLast,
    stepsPerEpoch,
    callbacks,
    workers,
    recalibrate,
  };
}

/** The model's trainable variables, in `model.trainableWeights` order. */
function trainableVariables(model: tf.LayersModel): tf.Variable[] {
  return model.trainableWeights.map((w) => {
    const v = w.read();
    if (!(v instanceof tf.Variable)) throw new TrainError('model', `weight ${w.name} is not a variable`);
    return v;
  });
}

interface SeededLayer {
  seed?: number;
}

/** Layers with a random training-time mask (Dropout and its variants). */
function dropoutLayers(model: tf.LayersModel): SeededLayer[] {
  return model.layers
    .filter((l) => /Dropout|GaussianNoise/.test(l.getClassName()))
    .map((l) => l as unknown as SeededLayer);
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
  const vars = trainableVariables(model);
  const optimizer: TrainOptimizer = createOptimizer(p.optimizer, vars);
  const sums = tf.tidy(() => ({
    loss: tf.variable(tf.scalar(0), false),
    correct: tf.variable(tf.scalar(0), false),
    firstBad: tf.variable(tf.scalar(-1, 'int32'), false),
  }));
  const dropouts = dropoutLayers(model);
  const savedSeeds = dropouts.map((l) => l.seed);
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
      restoreCheckpoint(ckpt, model, optimizer);
      schedule.restore(ckpt.state.schedule);
      history.push(...ckpt.state.history);
      step = ckpt.state.step;
      initialEpoch = ckpt.state.epoch;
    }
    if (p.workers > 1 && options.spec) {
      parallel = await ParallelTrainer.start({
        model,
        spec: options.spec,
        workers: p.workers,
        optimizer,
        clip: p.clip,
        ce: { classes: info.classes, fromLogits: info.fromLogits, labelSmoothing: p.labelSmoothing },
        seed: p.seed,
        sums,
      });
    }
    return await runLoop(model, p, {
      info,
      vars,
      optimizer,
      schedule,
      sums,
      dropouts,
      history,
      step,
      initialEpoch,
      started,
      spec: options.spec,
      resumedFrom: ckpt ? { dir: ckpt.dir, epoch: ckpt.state.epoch } : null,
      parallel,
    });
  } finally {
    await parallel?.dispose();
    optimizer.dispose();
    tf.dispose([sums.loss, sums.correct, sums.firstBad]);
    dropouts.forEach((l, i) => {
      l.seed = savedSeeds[i];
    });
  }
}

interface LoopState {
  info: ReturnType<typeof modelInfo>;
  vars: tf.Variable[];
  optimizer: TrainOptimizer;
  schedule: ReturnType<typeof createSchedule>;
  sums: { loss: tf.Variable; correct: tf.Variable; firstBad: tf.Variable };
  dropouts: SeededLayer[];
  history: EpochLogs[];
  step: number;
  initialEpoch: number;
  started: number;
  spec: ModelSpec | undefined;
  resumedFrom: { dir: string; epoch: number } | null;
  parallel?: ParallelTrainer;
}

async function runLoop(model: tf.LayersModel, p: Prepared, s: LoopState): Promise<FitResult> {
  const { info, vars, optimizer, schedule, sums, history } = s;
  let step = s.step;
  let epoch = s.initialEpoch;
  let lr = schedule.rate(step);
  let stopReason: string | null = null;
  let stoppedAt = -1;
  let atBoundary = true;
  let epochStart = performance.now();
  let epochSamples = 0;
  const epochFirstStep = new Map<number, number>();
  const ce = { classes: info.classes, fromLogits: info.fromLogits, labelSmoothing: p.labelSmoothing };

  const readPair = async (a: tf.Tensor, b: tf.Tensor): Promise<[number, number]> => {
    const both = tf.stack([a, b]);
    const [x, y] = await both.data();
    both.dispose();
    return [x, y];
  };

  const ctx: TrainContext = {
    model,
    epochs: p.epochs,
    initialEpoch: s.initialEpoch,
    stepsPerEpoch: p.stepsPerEpoch,
    batchSize: p.batchSize,
    trainSamples: p.train.count,
    valSamples: p.val?.count ?? 0,
    history,
    get epoch() {
      return epoch;
    },
    get step() {
      return step;
    },
    get learningRate() {
      return lr;
    },
    get stopReason() {
      return stopReason;
    },
    get betweenEpochs() {
      return atBoundary;
    },
    stop(reason: string) {
      if (stopReason === null) {
        stopReason = reason;
        stoppedAt = epoch;
      }
    },
    async runningMetrics(): Promise<RunningMetrics> {
      const [loss, correct] = await readPair(sums.loss, sums.correct);
      return {
        loss: epochSamples > 0 ? loss / epochSamples : Number.NaN,
        accuracy: epochSamples > 0 ? correct / epochSamples : Number.NaN,
        samples: epochSamples,
        seconds: (performance.now() - epochStart) / 1000,
      };
    },
    async firstNonFinite(): Promise<NonFiniteLoss | null> {
      const bad = (await sums.firstBad.data())[0];
      if (bad < 0) return null;
      let e = s.initialEpoch;
      for (const [ep, first] of epochFirstStep) if (first <= bad && ep > e) e = ep;
      return { epoch: e, batch: bad - (epochFirstStep.get(e) ?? 0), step: bad };
    },
    async saveCheckpoint(dir: string): Promise<void> {
      if (!atBoundary) {
        throw new TrainError(
          'saveCheckpoint',
          'checkpoints can only be saved between epochs (onEpochEnd, onTrainEnd)',
        );
      }
      await writeCheckpoint(dir, {
        model,
        optimizer,
        state: {
          epoch: history.length,
          step,
          epochs: p.epochs,
          batchSize: p.batchSize,
          seed: p.seed,
          normalize: p.normalize,
          schedule: schedule.state(),
          history: [...history],
          ...(s.spec ? { spec: s.spec } : {}),
        },
      });
    },
  };

  const hook = async (call: (cb: Callback) => HookReturn): Promise<void> => {
    for (const cb of p.callbacks) {
      const result = (await call(cb)) as HookResult;
      if (result?.stop) ctx.stop(result.reason);
    }
  };

  const trainStep = (batch: Batch, stepLr: number, stepIndex: number): void => {
    const n = batch.y.length;
    tf.tidy(() => {
      const x = tf.tensor4d(batch.x, batch.shape);
      const y = tf.tensor1d(batch.y, 'int32');
      let correct: tf.Scalar | undefined;
      let outputSum: tf.Scalar | undefined;
      const { value, grads } = tf.variableGrads(() => {
        const out = model.apply(x, { training: true }) as tf.Tensor;
        correct = tf.keep(correctCount(out, y));
        // NaN/Inf in the output can hide behind the probability clipping of the loss; a sum
        // of the output carries them into the non-finite check.
        outputSum = tf.keep(tf.sum(out) as tf.Scalar);
        return tf.div(crossEntropySum(out, y, ce), n) as tf.Scalar;
      }, vars);
      const g = clipGradients(
        vars.map((v) => grads[v.name] ?? tf.zerosLike(v)),
        p.clip,
      );
      optimizer.apply(g, stepLr);
      // value + 0·Σout: the loss itself, or NaN when the output is not finite.
      const checked = outputSum ? tf.add(value, tf.mul(outputSum, 0)) : value;
      sums.loss.assign(tf.add(sums.loss, tf.mul(checked, n)));
      if (correct) sums.correct.assign(tf.add(sums.correct, correct));
      tf.dispose([correct, outputSum]);
      const bad = tf.logicalAnd(tf.notEqual(tf.sub(checked, checked), 0), tf.less(sums.firstBad, 0));
      sums.firstBad.assign(tf.where<tf.Tensor>(bad, tf.scalar(stepIndex, 'int32'), sums.firstBad));
    });
  };

  await hook((cb) => cb.onTrainBegin?.(ctx));
  for (; epoch < p.epochs && stopReason === null; epoch++) {
    await hook((cb) => cb.onEpochBegin?.(epoch, ctx));
    if (stopReason !== null) break;
    atBoundary = false;
    epochFirstStep.set(epoch, step);
    tf.tidy(() => {
      sums.loss.assign(tf.scalar(0));
      sums.correct.assign(tf.scalar(0));
    });
    epochStart = performance.now();
    epochSamples = 0;
    let batchIndex = 0;
    const stream = batches(p.train, {
      batchSize: p.batchSize,
      shuffle: p.shuffle,
      seed: p.seed,
      epoch,
      dropLast: p.dropLast,
      layout: 'NHWC',
      normalize: p.normalize,
      augment: p.augment,
    });
    for (const batch of stream) {
      lr = schedule.rate(step);
      if (s.parallel) {
        await s.parallel.step(batch, lr, step);
      } else {
        s.dropouts.forEach((layer, i) => {
          layer.seed = mixSeed(p.seed, step, i, 0xd0);
        });
        trainStep(batch, lr, step);
      }
      epochSamples += batch.y.length;
      step++;
      const logs: BatchLogs = { batch: batchIndex, size: batch.y.length, step: step - 1, lr };
      const b = batchIndex;
      await hook((cb) => cb.onBatchEnd?.(b, logs, ctx));
      batchIndex++;
      if (stopReason !== null) break;
    }
    if (stopReason !== null && batchIndex < p.stepsPerEpoch) break;
    const [lossSum, correct] = await readPair(sums.loss, sums.correct);
    const trainSeconds = (performance.now() - epochStart) / 1000;
    if (p.recalibrate > 0) {
      recalibrateBatchNorm(model, p.train, {
        batches: p.recalibrate,
        batchSize: p.valBatchSize,
        normalize: p.normalize,
        seed: mixSeed(p.seed, epoch, 0xb4),
      });
    }
    const logs: EpochLogs = {
      epoch,
      loss: lossSum / epochSamples,
      accuracy: correct / epochSamples,
      lr,
      samplesPerSecond: epochSamples / Math.max(trainSeconds, 1e-9),
      epochSeconds: trainSeconds,
    };
    if (p.val) {
      const v = await evaluateSums(model, p.val, info, p.valBatchSize, p.normalize);
      logs.valLoss = v.loss / p.val.count;
      logs.valAccuracy = v.correct / p.val.count;
    }
    logs.epochSeconds = (performance.now() - epochStart) / 1000;
    schedule.epochEnd(logs);
    history.push(logs);
    atBoundary = true;
    await hook((cb) => cb.onEpochEnd?.(epoch, logs, ctx));
  }
  for (const cb of p.callbacks) await cb.onTrainEnd?.(ctx);
  return {
    history,
    epochsCompleted: history.length,
    steps: step,
    stopped: stopReason === null ? null : { reason: stopReason, epoch: stoppedAt },
    seconds: (performance.now() - s.started) / 1000,
    resumedFrom: s.resumedFrom,
  };
}
