import type { EpochLogs } from './logs.js';
import type * as tf from './tfjs.js';

/** What `onBatchEnd` receives. Cheap: nothing here needs to read back from the device. */
export interface BatchLogs {
  /** 0-based batch index within the epoch. */
  batch: number;
  /** Samples in this batch. */
  size: number;
  /** 0-based global step (batches since the start of training, resumed runs included). */
  step: number;
  /** Learning rate used for this step. */
  lr: number;
}

/** Running means of the current epoch, read back from the device on request. */
export interface RunningMetrics {
  /** Mean training loss over the epoch's batches so far (NaN before the first batch). */
  loss: number;
  /** Training accuracy over the epoch's batches so far. */
  accuracy: number;
  /** Samples trained in this epoch so far. */
  samples: number;
  /** Seconds since the epoch started. */
  seconds: number;
}

/** Where the loss first stopped being finite. */
export interface NonFiniteLoss {
  epoch: number;
  batch: number;
  step: number;
}

/** A callback's request to end training. */
export interface StopSignal {
  stop: true;
  reason: string;
}

/** The state of a run, as callbacks see it. */
export interface TrainContext {
  readonly model: tf.LayersModel;
  /** Total epochs of the run (a resumed run counts the epochs before the resume too). */
  readonly epochs: number;
  /** The epoch training (re)started at: 0, or the checkpoint's epoch count when resuming. */
  readonly initialEpoch: number;
  readonly stepsPerEpoch: number;
  readonly batchSize: number;
  readonly trainSamples: number;
  /** Validation samples (0 without validation). */
  readonly valSamples: number;
  /** Finished epochs so far, resumed history included. */
  readonly history: readonly EpochLogs[];
  /** The current (or last) 0-based epoch. */
  readonly epoch: number;
  /** Steps done so far. */
  readonly step: number;
  /** Learning rate of the most recent step. */
  readonly learningRate: number;
  /** True between epochs, false while an epoch runs (in `onBatchEnd`, and after a stop between batches). */
  readonly betweenEpochs: boolean;
  /** The reason given by the first stop request, or null. */
  readonly stopReason: string | null;
  /** Asks training to stop after the current batch. */
  stop(reason: string): void;
  /** Reads the running loss and accuracy of the current epoch (one device read). */
  runningMetrics(): Promise<RunningMetrics>;
  /** Reads where the loss first became NaN or ±Inf, or null if it never did (one device read). */
  firstNonFinite(): Promise<NonFiniteLoss | null>;
  /**
   * Writes a full training checkpoint (weights, optimizer state, epoch, step, schedule state,
   * history) to `dir`, atomically; `fit({ resume: dir })` continues from it. Between batches
   * (`onBatchEnd`, or `onTrainEnd` after a stop between batches) it also records the place in the
   * epoch and the epoch's running sums, so a resume continues inside the epoch. Refused (a
   * `TrainError`) between batches once the epoch's loss is not finite.
   */
  saveCheckpoint(dir: string): Promise<void>;
}

/** What a hook may return: nothing, or a request to stop. */
export type HookResult = StopSignal | undefined;

/** A hook's return type: a {@link HookResult}, nothing at all, or a promise of either. */
// biome-ignore lint/suspicious/noConfusingVoidType: hooks written as `() => {}` return void.
export type HookReturn = HookResult | void | Promise<HookResult | void>;

/**
 * Hooks into `fit`. Every hook is optional and may be async; returning `{ stop: true, reason }`
 * or calling `ctx.stop(reason)` ends training (after the current batch). Write your own by
 * implementing the hooks you need.
 */
export interface Callback {
  /** Shown in error messages. */
  readonly name?: string;
  onTrainBegin?(ctx: TrainContext): HookReturn;
  onEpochBegin?(epoch: number, ctx: TrainContext): HookReturn;
  onBatchEnd?(batch: number, logs: BatchLogs, ctx: TrainContext): HookReturn;
  onEpochEnd?(epoch: number, logs: EpochLogs, ctx: TrainContext): HookReturn;
  /** Called once at the end, also after a stop request; not called when training throws. */
  onTrainEnd?(ctx: TrainContext): void | Promise<void>;
}
