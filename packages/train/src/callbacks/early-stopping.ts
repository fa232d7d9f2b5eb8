import { plural } from '@lenet/common';
import type { Callback, HookResult, TrainContext } from '../callback.js';
import { TrainError } from '../errors.js';
import {
  chooseMonitor,
  type EpochLogs,
  improves,
  type MonitorMode,
  type MonitorName,
  resolveMode,
} from '../logs.js';
import type * as tf from '../tfjs.js';
import * as tfc from '../tfjs.js';

/** Options of {@link earlyStopping}. */
export interface EarlyStoppingOptions {
  /** Metric to watch (default `valLoss`, or `loss` when the run has no validation data). */
  monitor?: MonitorName;
  /** `min`, `max` or `auto` (by name: accuracies up, losses down). */
  mode?: MonitorMode;
  /** Epochs without improvement before stopping (default 5). */
  patience?: number;
  /** Smallest change that counts as an improvement (default 0). */
  minDelta?: number;
  /** At the end of training, put back the weights of the best epoch seen by this run (default false). */
  restoreBestWeights?: boolean;
}

/** The early-stopping callback; `bestEpoch` and `bestValue` can be read after training. */
export interface EarlyStopping extends Callback {
  readonly bestEpoch: number;
  readonly bestValue: number;
  /** The epoch it stopped after, or -1. */
  readonly stoppedEpoch: number;
}

/**
 * Stops training when `monitor` has not improved by more than `minDelta` for `patience` epochs
 * (Keras semantics). On resume it picks up the best value and waiting count from the history.
 */
export function earlyStopping(options: EarlyStoppingOptions = {}): EarlyStopping {
  const patience = options.patience ?? 5;
  const minDelta = options.minDelta ?? 0;
  if (!Number.isInteger(patience) || patience < 0) {
    throw new TrainError(
      'patience',
      `earlyStopping patience must be a non-negative integer, got ${patience}`,
    );
  }
  if (!(minDelta >= 0))
    throw new TrainError('minDelta', `earlyStopping minDelta must be ≥ 0, got ${minDelta}`);
  let monitor: MonitorName = options.monitor ?? 'valLoss';
  let mode: 'min' | 'max' = 'min';
  let best = Number.NaN;
  let bestEpoch = -1;
  let wait = 0;
  let stoppedEpoch = -1;
  let bestWeights: { values: Float32Array[]; shapes: number[][]; dtypes: tf.DataType[] } | null = null;

  const observe = (logs: EpochLogs): boolean => {
    const value = logs[monitor];
    if (value === undefined) {
      throw new TrainError('monitor', `earlyStopping monitors ${monitor}, which this run does not record`);
    }
    if (improves(value, best, mode, minDelta)) {
      best = value;
      bestEpoch = logs.epoch;
      wait = 0;
      return true;
    }
    wait++;
    return false;
  };

  return {
    name: 'earlyStopping',
    get bestEpoch() {
      return bestEpoch;
    },
    get bestValue() {
      return best;
    },
    get stoppedEpoch() {
      return stoppedEpoch;
    },
    onTrainBegin(ctx: TrainContext): HookResult {
      monitor = chooseMonitor('earlyStopping', options.monitor, ctx.valSamples);
      mode = resolveMode(monitor, options.mode);
      best = Number.NaN;
      bestEpoch = -1;
      wait = 0;
      stoppedEpoch = -1;
      bestWeights = null;
      for (const logs of ctx.history) observe(logs);
      return undefined;
    },
    async onEpochEnd(epoch: number, logs: EpochLogs, ctx: TrainContext): Promise<HookResult> {
      if (observe(logs)) {
        if (options.restoreBestWeights) {
          const weights = ctx.model.getWeights();
          bestWeights = {
            values: await Promise.all(weights.map(async (w) => Float32Array.from(await w.data()))),
            shapes: weights.map((w) => w.shape),
            dtypes: weights.map((w) => w.dtype),
          };
        }
        return undefined;
      }
      if (wait >= patience) {
        stoppedEpoch = epoch;
        const delta = minDelta > 0 ? ` by more than ${minDelta}` : '';
        return {
          stop: true,
          reason: `early stopping: ${monitor} has not improved${delta} for ${plural(wait, 'epoch')} (best ${best.toPrecision(5)} at epoch ${bestEpoch + 1})`,
        };
      }
      return undefined;
    },
    onTrainEnd(ctx: TrainContext): void {
      const last = ctx.history[ctx.history.length - 1];
      if (!bestWeights || !last || last.epoch === bestEpoch) return;
      const saved = bestWeights;
      const tensors = saved.values.map((v, i) => tfc.tensor(v, saved.shapes[i], saved.dtypes[i]));
      ctx.model.setWeights(tensors);
      tfc.dispose(tensors);
    },
  };
}
