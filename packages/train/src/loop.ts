import { setKernelIdleWork } from '@lenet/backend';
import {
  type AugmentOptions,
  type Batch,
  type BatchCursor,
  batchBuffers,
  batchCursor,
  type Dataset,
  type MeanStd,
  mixSeed,
} from '@lenet/datasets';
import type { ModelSpec } from '@lenet/models';
import { recalibrateBatchNorm } from './batch-norm.js';
import type { BatchLogs, Callback, HookResult, HookReturn, TrainContext } from './callback.js';
import type { EpochPosition } from './checkpoint.js';
import { type ModelInference, modelInference } from './compiled-inference.js';
import { evaluateSums } from './evaluate.js';
import type { EpochLogs } from './logs.js';
import type { ModelInfo } from './model-info.js';
import type { ParallelTrainer } from './parallel/trainer.js';
import type { LearningRateSchedule } from './schedules.js';
import type { StepRunner } from './step.js';
import type * as tf from './tfjs.js';
import { createTrainContext, type LoopState } from './train-context.js';

/** The environment variable that switches the write-ahead below off (`0`) in the process, for A/B runs of the bench. */
export const BATCH_WRITE_AHEAD_ENV = 'LENET_FIT_WRITE_AHEAD';

/**
 * Whether a step's idle moments (the main thread waiting for a helper thread's share of a split
 * kernel: 0.8 ms of LeNet-5's 5.7 ms b64 step) write the next batch ahead (shuffle, gather,
 * normalise, augment: 0.1–0.25 ms a LeNet-5 b64 batch), rather than the loop after the step.
 */
let writeAhead = process.env[BATCH_WRITE_AHEAD_ENV] !== '0';

/** Switches the loop's writing of the next batch during a step's idle moments; returns the previous setting. For A/B measurements. */
export function setBatchWriteAheadEnabled(enabled: boolean): boolean {
  const previous = writeAhead;
  writeAhead = enabled;
  return previous;
}

/** The checked options the loop runs with (what `fit` prepared). */
export interface LoopConfig {
  train: Dataset;
  val: Dataset | undefined;
  epochs: number;
  batchSize: number;
  valBatchSize: number;
  seed: number;
  augment: AugmentOptions | undefined;
  normalize: 'unit' | MeanStd;
  /** Label smoothing ε of the training loss; validation loss uses it too. */
  labelSmoothing: number;
  shuffle: boolean;
  dropLast: boolean;
  stepsPerEpoch: number;
  callbacks: readonly Callback[];
  /** Batches of batch-norm recalibration after each epoch (0: off). */
  recalibrate: number;
  /** Take the compiled training step and validation pass where they cover the model. */
  compiled: boolean;
}

/** What the loop drives, and where it starts (a resumed run starts past 0). */
export interface LoopSetup {
  model: tf.LayersModel;
  info: ModelInfo;
  config: LoopConfig;
  trainStep: StepRunner;
  /** Takes the steps instead of `trainStep.run` when training is data-parallel. */
  parallel: ParallelTrainer | undefined;
  schedule: LearningRateSchedule;
  /** Finished epochs (a resumed run's included); the loop appends to it. */
  history: EpochLogs[];
  step: number;
  initialEpoch: number;
  /** Where inside `initialEpoch` a checkpoint saved between batches left off. */
  position: EpochPosition | undefined;
  spec: ModelSpec | undefined;
  /** Aborting it stops training after the current batch; the loop yields to the event loop between batches to see it. */
  signal: AbortSignal | undefined;
}

/** How a run ended. */
export interface LoopOutcome {
  /** Steps done in total. */
  steps: number;
  /** Why training ended early, or null if it ran all epochs. */
  stopped: { reason: string; epoch: number } | null;
}

/**
 * `fit`'s loop, in phases: the run (train begin and end), an epoch (its steps, then its logs),
 * a step, the end-of-epoch evaluation (recalibration and validation), and the callbacks.
 */
class TrainingLoop {
  private readonly state: LoopState;
  private readonly ctx: TrainContext;
  /**
   * The validation's inference, kept from epoch to epoch (it reads the variables at every call):
   * a fresh one each epoch laid out its buffers and packed its weights again, 2.2 ms of mlp2's
   * ~20 ms epoch at batch 64 (a fresh net's first call 3.1 ms, a kept one's after training 0.9).
   */
  private validation: ModelInference | undefined;
  /** The next epoch's batches, written ahead during the end of the epoch before. */
  private nextCursor: { epoch: number; cursor: BatchCursor } | undefined;
  /**
   * The memory every epoch's training batches, and every validation's, are written into: new
   * memory each epoch cost a small net's 20-batch epoch up to a quarter of its time in page faults
   * (mlp2, 2-core VM).
   */
  private readonly trainBuffers = batchBuffers();
  private readonly valBuffers = batchBuffers();

  constructor(private readonly setup: LoopSetup) {
    const { config } = setup;
    this.state = {
      epoch: setup.initialEpoch,
      step: setup.step,
      // Inside an epoch the rate on record is the last step's, as it would be without the resume.
      lr: setup.schedule.rate(setup.position && setup.step > 0 ? setup.step - 1 : setup.step),
      stopReason: null,
      stoppedAt: -1,
      atBoundary: true,
      batch: 0,
      epochStart: performance.now(),
      epochSamples: 0,
      epochSamplesBefore: 0,
      epochFirstStep: new Map(),
    };
    this.ctx = createTrainContext(
      {
        model: setup.model,
        trainStep: setup.trainStep,
        schedule: setup.schedule,
        history: setup.history,
        epochs: config.epochs,
        initialEpoch: setup.initialEpoch,
        stepsPerEpoch: config.stepsPerEpoch,
        batchSize: config.batchSize,
        trainSamples: config.train.count,
        valSamples: config.val?.count ?? 0,
        seed: config.seed,
        normalize: config.normalize,
        spec: setup.spec,
      },
      this.state,
    );
  }

  async run(): Promise<LoopOutcome> {
    const s = this.state;
    try {
      await this.callbacks((cb) => cb.onTrainBegin?.(this.ctx));
      for (; s.epoch < this.setup.config.epochs; s.epoch++) {
        this.checkAbort();
        if (s.stopReason !== null || !(await this.epoch())) break;
      }
    } finally {
      this.validation?.dispose();
      this.validation = undefined;
    }
    // onTrainEnd cannot stop anything any more: its result is not looked at.
    for (const cb of this.setup.config.callbacks) await cb.onTrainEnd?.(this.ctx);
    return {
      steps: s.step,
      stopped: s.stopReason === null ? null : { reason: s.stopReason, epoch: s.stoppedAt },
    };
  }

  /** Turns an aborted `signal` into a stop request. */
  private checkAbort(): void {
    const { signal } = this.setup;
    if (!signal?.aborted) return;
    const r: unknown = signal.reason;
    this.ctx.stop(typeof r === 'string' ? r : r instanceof Error ? r.message : 'aborted');
  }

  /** Runs the calls of one hook over every callback in order; a returned stop request stops. */
  private async callbacks(call: (cb: Callback) => HookReturn): Promise<void> {
    for (const cb of this.setup.config.callbacks) {
      const result = (await call(cb)) as HookResult;
      if (result?.stop) this.ctx.stop(result.reason);
    }
  }

  /** One epoch; false when a stop request ended it before its last batch (it is not logged). */
  private async epoch(): Promise<boolean> {
    const s = this.state;
    const { config, schedule, history } = this.setup;
    const epoch = s.epoch;
    await this.callbacks((cb) => cb.onEpochBegin?.(epoch, this.ctx));
    if (s.stopReason !== null) return false;
    const resumed = epoch === this.setup.initialEpoch ? this.setup.position : undefined;
    s.atBoundary = false;
    s.batch = resumed?.batch ?? 0;
    s.epochFirstStep.set(epoch, s.step - s.batch);
    if (resumed) this.setup.trainStep.sums.restore(resumed.lossSum, resumed.correct);
    else this.setup.trainStep.sums.reset();
    s.epochStart = performance.now();
    s.epochSamples = resumed?.samples ?? 0;
    s.epochSamplesBefore = s.epochSamples;
    const done = await this.steps();
    if (s.stopReason !== null && done < config.stepsPerEpoch) return false;
    // The next epoch's first batch is written while the end of this one (validation) waits for
    // the helper threads, as every other batch is during the step before it.
    const next = writeAhead && epoch + 1 < config.epochs ? this.cursorFor(epoch + 1) : undefined;
    this.nextCursor = next && { epoch: epoch + 1, cursor: next };
    const previous = setKernelIdleWork(next ? () => next.writeAhead() : null);
    let logs: EpochLogs;
    try {
      logs = await this.epochLogs();
    } finally {
      setKernelIdleWork(previous);
    }
    schedule.epochEnd(logs);
    history.push(logs);
    s.atBoundary = true;
    await this.callbacks((cb) => cb.onEpochEnd?.(epoch, logs, this.ctx));
    return true;
  }

  /**
   * The epoch's batches from `state.batch` on, one step and one `onBatchEnd` each; returns the
   * batches of the epoch done. With a signal, the loop yields to the event loop after each step, so
   * that a signal handler runs and the stop it asks for is seen after the current batch.
   */
  private async steps(): Promise<number> {
    const s = this.state;
    const { signal } = this.setup;
    let batchIndex = s.batch;
    const kept = this.nextCursor;
    this.nextCursor = undefined;
    const cursor = kept?.epoch === s.epoch ? kept.cursor : this.cursorFor(s.epoch);
    // A resumed epoch draws the batches it already trained too: the order and the augmentation
    // of the rest come out as in an uninterrupted run.
    for (let b = 0; b < batchIndex; b++) cursor.next();
    const ahead = writeAhead ? () => cursor.writeAhead() : null;
    for (let batch = cursor.next(); batch !== undefined; batch = cursor.next()) {
      const previous = setKernelIdleWork(ahead);
      try {
        await this.step(batch);
      } finally {
        setKernelIdleWork(previous);
      }
      s.batch = batchIndex + 1;
      if (signal) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        this.checkAbort();
      }
      const logs: BatchLogs = { batch: batchIndex, size: batch.y.length, step: s.step - 1, lr: s.lr };
      const b = batchIndex;
      await this.callbacks((cb) => cb.onBatchEnd?.(b, logs, this.ctx));
      batchIndex++;
      if (s.stopReason !== null) break;
    }
    return batchIndex;
  }

  /** The batches of `epoch`. */
  private cursorFor(epoch: number): BatchCursor {
    const { config } = this.setup;
    return batchCursor(config.train, {
      batchSize: config.batchSize,
      shuffle: config.shuffle,
      seed: config.seed,
      epoch,
      dropLast: config.dropLast,
      layout: 'NHWC',
      normalize: config.normalize,
      augment: config.augment,
      // Each batch is done with (stepped, callbacks called) before the one after the next is
      // drawn, and nothing keeps it: two pairs of buffers serve every epoch (the last batch of one
      // is done before the next epoch's first is written ahead). Fresh 0.2–0.8 MB buffers per
      // batch made LeNet-5's b64 steps in fit 5–45 % slower (fit-profile.mjs), mostly as waiting
      // for the helper thread, not as main-thread work.
      reuseBuffers: this.trainBuffers,
    });
  }

  /** One training step at the schedule's rate, on this thread or data-parallel. */
  private async step(batch: Batch): Promise<void> {
    const s = this.state;
    const { schedule, parallel, trainStep } = this.setup;
    s.lr = schedule.rate(s.step);
    if (parallel) await parallel.step(batch, s.lr, s.step);
    else trainStep.run(batch, s.lr, s.step);
    s.epochSamples += batch.y.length;
    s.step++;
  }

  /**
   * The finished epoch's logs: training loss and accuracy (one device read), then batch-norm
   * recalibration and validation where asked for.
   */
  private async epochLogs(): Promise<EpochLogs> {
    const s = this.state;
    const { config, model, info } = this.setup;
    const { loss: lossSum, correct } = await this.setup.trainStep.sums.read();
    const trainSeconds = (performance.now() - s.epochStart) / 1000;
    if (config.recalibrate > 0) {
      recalibrateBatchNorm(model, config.train, {
        batches: config.recalibrate,
        batchSize: config.valBatchSize,
        normalize: config.normalize,
        seed: mixSeed(config.seed, s.epoch, 0xb4),
        compiled: config.compiled,
      });
    }
    const logs: EpochLogs = {
      epoch: s.epoch,
      loss: lossSum / s.epochSamples,
      accuracy: correct / s.epochSamples,
      lr: s.lr,
      samplesPerSecond: (s.epochSamples - s.epochSamplesBefore) / Math.max(trainSeconds, 1e-9),
      epochSeconds: trainSeconds,
    };
    if (config.val) {
      if (config.compiled && !info.fromLogits) this.validation ??= modelInference(model, info);
      const v = await evaluateSums(
        model,
        config.val,
        info,
        config.valBatchSize,
        config.normalize,
        config.labelSmoothing,
        config.compiled,
        this.validation,
        this.valBuffers,
      );
      logs.valLoss = v.loss / config.val.count;
      logs.valCrossEntropy = v.crossEntropy / config.val.count;
      logs.valAccuracy = v.correct / config.val.count;
    }
    logs.epochSeconds = (performance.now() - s.epochStart) / 1000;
    return logs;
  }
}

/** Runs `fit`'s epochs from where `setup` starts, calling the callbacks; returns how it ended. */
export function runLoop(setup: LoopSetup): Promise<LoopOutcome> {
  return new TrainingLoop(setup).run();
}
