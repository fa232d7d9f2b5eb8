import { TrainError } from './errors.js';
import { type EpochLogs, improves, type MonitorMode, type MonitorName, resolveMode } from './logs.js';

/** Fields every schedule accepts: a linear warm-up from ~0 to the schedule's rate. */
export interface WarmupOptions {
  /** Warm-up length in epochs (fractions allowed); the rate rises linearly over these steps. */
  warmupEpochs?: number;
}

/** Learning-rate schedules. Epoch-based ones change at epoch boundaries, the others every step. */
export type ScheduleConfig =
  | ({ type: 'constant' } & WarmupOptions)
  /** Linear warm-up, then constant (the same as `constant` with `warmupEpochs`). */
  | ({ type: 'warmup'; warmupEpochs: number } & WarmupOptions)
  /** Multiply by `gamma` (0.1) every `stepEpochs` epochs. */
  | ({ type: 'step'; stepEpochs: number; gamma?: number } & WarmupOptions)
  /** Cosine decay from the base rate to `minLearningRate` (0) over all steps after warm-up. */
  | ({ type: 'cosine'; minLearningRate?: number } & WarmupOptions)
  /**
   * One-cycle (Smith 2018, PyTorch `OneCycleLR` with cosine annealing): from `max/divFactor` up to
   * `maxLearningRate` (default: the base rate) over `pctStart` of the steps, then down to
   * `max/(divFactor·finalDivFactor)`.
   */
  | {
      type: 'oneCycle';
      maxLearningRate?: number;
      pctStart?: number;
      divFactor?: number;
      finalDivFactor?: number;
    }
  /** Multiply by `factor` (0.1) when `monitor` has not improved for `patience` (5) epochs. */
  | ({
      type: 'reduceOnPlateau';
      monitor?: MonitorName;
      mode?: MonitorMode;
      factor?: number;
      patience?: number;
      minDelta?: number;
      cooldown?: number;
      minLearningRate?: number;
    } & WarmupOptions);

/** The schedule names. */
export type ScheduleName = ScheduleConfig['type'];

/** The mutable part of a schedule, saved in checkpoints (only reduce-on-plateau has any). */
export interface ScheduleState {
  scale: number;
  best: number | null;
  wait: number;
  cooldown: number;
}

/** A learning-rate schedule bound to a run's length. */
export interface LearningRateSchedule {
  /** The learning rate for global step `step` (0-based, counting batches over all epochs). */
  rate(step: number): number;
  /** Lets reduce-on-plateau see an epoch's metrics; a no-op for the others. */
  epochEnd(logs: EpochLogs): void;
  /** State to save in a checkpoint. */
  state(): ScheduleState;
  /** Restores state from a checkpoint. */
  restore(state: ScheduleState): void;
}

/** What a schedule needs to know about the run. */
export interface ScheduleRun {
  baseLearningRate: number;
  stepsPerEpoch: number;
  epochs: number;
  /** Metric reduce-on-plateau watches when its config names none. */
  defaultMonitor: MonitorName;
}

function check(field: string, ok: boolean, message: string): void {
  if (!ok) throw new TrainError(`schedule.${field}`, `schedule.${field} ${message}`);
}

/** Builds a schedule; throws {@link TrainError} for unknown types or bad fields. */
export function createSchedule(config: ScheduleConfig | undefined, run: ScheduleRun): LearningRateSchedule {
  const cfg: ScheduleConfig = config ?? { type: 'constant' };
  const base = run.baseLearningRate;
  const total = Math.max(1, run.stepsPerEpoch * run.epochs);
  const warmupEpochs = 'warmupEpochs' in cfg ? (cfg.warmupEpochs ?? 0) : 0;
  check(
    'warmupEpochs',
    Number.isFinite(warmupEpochs) && warmupEpochs >= 0,
    `must be ≥ 0, got ${warmupEpochs}`,
  );
  const warmup = Math.round(warmupEpochs * run.stepsPerEpoch);
  const warm = (step: number): number => (step < warmup ? (step + 1) / warmup : 1);
  const state: ScheduleState = { scale: 1, best: null, wait: 0, cooldown: 0 };
  let schedule: (step: number) => number;
  let epochEnd: (logs: EpochLogs) => void = () => {};

  switch (cfg.type) {
    case 'constant':
    case 'warmup':
      schedule = () => base;
      break;
    case 'step': {
      const gamma = cfg.gamma ?? 0.1;
      check(
        'stepEpochs',
        Number.isInteger(cfg.stepEpochs) && cfg.stepEpochs > 0,
        `must be a positive integer`,
      );
      check('gamma', gamma > 0 && gamma <= 1, `must be in (0, 1], got ${gamma}`);
      schedule = (step) => base * gamma ** Math.floor(Math.floor(step / run.stepsPerEpoch) / cfg.stepEpochs);
      break;
    }
    case 'cosine': {
      const min = cfg.minLearningRate ?? 0;
      check('minLearningRate', min >= 0 && min <= base, `must be in [0, learningRate], got ${min}`);
      schedule = (step) => {
        const p = Math.min(1, Math.max(0, (step - warmup) / Math.max(1, total - warmup)));
        return min + ((base - min) * (1 + Math.cos(Math.PI * p))) / 2;
      };
      break;
    }
    case 'oneCycle': {
      const max = cfg.maxLearningRate ?? base;
      const pct = cfg.pctStart ?? 0.3;
      const div = cfg.divFactor ?? 25;
      const finalDiv = cfg.finalDivFactor ?? 1e4;
      check('maxLearningRate', max > 0, `must be positive, got ${max}`);
      check('pctStart', pct > 0 && pct < 1, `must be in (0, 1), got ${pct}`);
      check('divFactor', div >= 1, `must be ≥ 1, got ${div}`);
      check('finalDivFactor', finalDiv >= 1, `must be ≥ 1, got ${finalDiv}`);
      const initial = max / div;
      const final = initial / finalDiv;
      const up = Math.max(1, Math.round(pct * total) - 1);
      const down = Math.max(1, total - 1 - up);
      const anneal = (from: number, to: number, p: number): number =>
        to + ((from - to) * (1 + Math.cos(Math.PI * p))) / 2;
      schedule = (step) =>
        step <= up ? anneal(initial, max, step / up) : anneal(max, final, Math.min(1, (step - up) / down));
      break;
    }
    case 'reduceOnPlateau': {
      const monitor = cfg.monitor ?? run.defaultMonitor;
      const mode = resolveMode(monitor, cfg.mode);
      const factor = cfg.factor ?? 0.1;
      const patience = cfg.patience ?? 5;
      const minDelta = cfg.minDelta ?? 1e-4;
      const cooldown = cfg.cooldown ?? 0;
      const minLr = cfg.minLearningRate ?? 0;
      check('factor', factor > 0 && factor < 1, `must be in (0, 1), got ${factor}`);
      check('patience', Number.isInteger(patience) && patience >= 0, `must be a non-negative integer`);
      check('cooldown', Number.isInteger(cooldown) && cooldown >= 0, `must be a non-negative integer`);
      schedule = () => Math.max(minLr, base * state.scale);
      epochEnd = (logs) => {
        const value = logs[monitor];
        if (value === undefined) {
          throw new TrainError(
            'schedule.monitor',
            `reduceOnPlateau monitors ${monitor}, which this run does not record`,
          );
        }
        if (state.cooldown > 0) state.cooldown--;
        if (improves(value, state.best ?? Number.NaN, mode, minDelta)) {
          state.best = value;
          state.wait = 0;
        } else if (state.cooldown === 0) {
          state.wait++;
          if (state.wait >= patience) {
            state.scale *= factor;
            state.wait = 0;
            state.cooldown = cooldown;
          }
        }
      };
      break;
    }
    default:
      throw new TrainError(
        'schedule',
        `unknown schedule type ${JSON.stringify((cfg as { type: unknown }).type)}; expected constant, warmup, step, cosine, oneCycle or reduceOnPlateau`,
      );
  }
  return {
    rate: (step) => schedule(step) * (cfg.type === 'oneCycle' ? 1 : warm(step)),
    epochEnd: (logs) => epochEnd(logs),
    state: () => ({ ...state }),
    restore: (s) => Object.assign(state, s),
  };
}
