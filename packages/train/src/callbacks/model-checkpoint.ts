import { join } from 'node:path';
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

/** Options of {@link modelCheckpoint}. */
export interface ModelCheckpointOptions {
  /** Directory that receives `last/` and/or `best/`, each a full resumable checkpoint. */
  dir: string;
  /** What to keep (default `'both'`). */
  save?: 'last' | 'best' | 'both';
  /** Metric deciding "best" (default `valLoss`, or `loss` without validation data). */
  monitor?: MonitorName;
  mode?: MonitorMode;
  /** Write `last/` every this many epochs (default 1); the final epoch is always written. */
  every?: number;
}

/** The checkpoint callback; `bestEpoch` tells which epoch `best/` holds. */
export interface ModelCheckpoint extends Callback {
  readonly bestEpoch: number;
}

/**
 * Saves resumable checkpoints (weights, optimizer state, epoch, step, schedule, history) at the
 * end of epochs: `dir/last` every `every` epochs and `dir/best` when `monitor` improves; and
 * `dir/last` where a stop request ended training between batches (a Ctrl-C), with its place in
 * the epoch. An epoch or a stop whose loss is NaN or infinite is not saved: `last/` keeps the
 * previous, usable state. Each is written to a temporary directory and swapped in by rename, so a
 * crash never leaves a half-written checkpoint. Resume with `fit(model, data, { resume: dir })`.
 */
export function modelCheckpoint(options: ModelCheckpointOptions): ModelCheckpoint {
  if (typeof options?.dir !== 'string' || options.dir.length === 0) {
    throw new TrainError('dir', 'modelCheckpoint needs a dir');
  }
  const save = options.save ?? 'both';
  const every = options.every ?? 1;
  if (!['last', 'best', 'both'].includes(save)) {
    throw new TrainError(
      'save',
      `modelCheckpoint save must be last, best or both, got ${JSON.stringify(save)}`,
    );
  }
  if (!Number.isInteger(every) || every < 1) {
    throw new TrainError('every', `modelCheckpoint every must be a positive integer, got ${every}`);
  }
  let monitor: MonitorName = 'valLoss';
  let mode: 'min' | 'max' = 'min';
  let best = Number.NaN;
  let bestEpoch = -1;
  let lastSaved = -1;
  return {
    name: 'modelCheckpoint',
    get bestEpoch() {
      return bestEpoch;
    },
    onTrainBegin(ctx: TrainContext): HookResult {
      monitor = chooseMonitor('modelCheckpoint', options.monitor, ctx.valSamples, save !== 'last');
      mode = resolveMode(monitor, options.mode);
      best = Number.NaN;
      bestEpoch = -1;
      lastSaved = ctx.history.length - 1;
      for (const logs of ctx.history) {
        const v = logs[monitor];
        if (v !== undefined && improves(v, best, mode, 0)) {
          best = v;
          bestEpoch = logs.epoch;
        }
      }
      return undefined;
    },
    async onEpochEnd(epoch: number, logs: EpochLogs, ctx: TrainContext): Promise<HookResult> {
      const final = epoch === ctx.epochs - 1 || ctx.stopReason !== null;
      if (!Number.isFinite(logs.loss)) return undefined;
      if (save !== 'best' && ((epoch + 1) % every === 0 || final)) {
        await ctx.saveCheckpoint(join(options.dir, 'last'));
        lastSaved = epoch;
      }
      if (save !== 'last') {
        const value = logs[monitor];
        if (value === undefined) {
          throw new TrainError(
            'monitor',
            `modelCheckpoint monitors ${monitor}, which this run does not record`,
          );
        }
        if (improves(value, best, mode, 0)) {
          best = value;
          bestEpoch = epoch;
          await ctx.saveCheckpoint(join(options.dir, 'best'));
        }
      }
      return undefined;
    },
    async onTrainEnd(ctx: TrainContext): Promise<void> {
      if (save === 'best') return;
      const last = ctx.history.length - 1;
      if (ctx.betweenEpochs) {
        if (last > lastSaved && Number.isFinite(ctx.history[last].loss)) {
          await ctx.saveCheckpoint(join(options.dir, 'last'));
          lastSaved = last;
        }
      } else if ((await ctx.firstNonFinite()) === null) {
        // Stopped between batches: save where, so that a resume continues inside the epoch.
        await ctx.saveCheckpoint(join(options.dir, 'last'));
      }
    },
  };
}
