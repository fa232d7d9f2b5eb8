import type { BatchLogs, Callback, TrainContext } from '../callback.js';
import type { EpochLogs } from '../logs.js';

/** One logged learning rate. */
export interface LearningRateRecord {
  epoch: number;
  step: number;
  lr: number;
}

/** Options of {@link learningRateLogger}. */
export interface LearningRateLoggerOptions {
  /** Record once per epoch (default) or at every step. */
  every?: 'epoch' | 'step';
  /** Also print each record with this function (e.g. `console.log`). */
  log?: (message: string) => void;
}

/** The learning-rate logger; `records` holds what it saw. */
export interface LearningRateLogger extends Callback {
  readonly records: readonly LearningRateRecord[];
}

/** Records (and optionally prints) the learning rate per epoch or per step. */
export function learningRateLogger(options: LearningRateLoggerOptions = {}): LearningRateLogger {
  const records: LearningRateRecord[] = [];
  const every = options.every ?? 'epoch';
  const add = (r: LearningRateRecord): void => {
    records.push(r);
    options.log?.(`lr epoch ${r.epoch + 1} step ${r.step + 1}: ${r.lr.toExponential(4)}`);
  };
  return {
    name: 'learningRateLogger',
    records,
    onBatchEnd(_batch: number, logs: BatchLogs, ctx: TrainContext) {
      if (every === 'step') add({ epoch: ctx.epoch, step: logs.step, lr: logs.lr });
      return undefined;
    },
    onEpochEnd(epoch: number, logs: EpochLogs, ctx: TrainContext) {
      if (every === 'epoch') add({ epoch, step: ctx.step - 1, lr: logs.lr });
      return undefined;
    },
  };
}
