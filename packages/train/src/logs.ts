import { TrainError } from './errors.js';

/** What `fit` records for each finished epoch (one row of the history). */
export interface EpochLogs {
  /** 0-based epoch index. */
  epoch: number;
  /** Mean training loss over the epoch's batches, weighted by batch size. */
  loss: number;
  /** Training accuracy over the epoch (computed in training mode: dropout on). */
  accuracy: number;
  /** Validation loss, when there is a validation set: the training loss (label smoothing included). */
  valLoss?: number;
  /** Validation accuracy, when there is a validation set. */
  valAccuracy?: number;
  /**
   * Validation cross-entropy without label smoothing, when there is a validation set: the number
   * `evaluate` and PyTorch's `CrossEntropyLoss()` give (equals `valLoss` when smoothing is 0).
   */
  valCrossEntropy?: number;
  /** Learning rate of the epoch's last step. */
  lr: number;
  /** Training throughput: images of the epoch divided by the seconds spent in training steps. */
  samplesPerSecond: number;
  /** Wall time of the whole epoch, validation included. */
  epochSeconds: number;
}

/** The per-epoch metrics a callback or schedule can watch. */
export type MonitorName = 'loss' | 'accuracy' | 'valLoss' | 'valAccuracy';

/** Every monitor name. */
export const MONITOR_NAMES: readonly MonitorName[] = ['loss', 'accuracy', 'valLoss', 'valAccuracy'];

/** Whether a monitored metric improves by going down (`min`) or up (`max`); `auto` picks by name. */
export type MonitorMode = 'min' | 'max' | 'auto';

/** Resolves `auto`: accuracies are maximised, losses minimised. */
export function resolveMode(monitor: MonitorName, mode: MonitorMode = 'auto'): 'min' | 'max' {
  if (mode !== 'auto') return mode;
  return monitor === 'accuracy' || monitor === 'valAccuracy' ? 'max' : 'min';
}

/** True when `value` beats `best` by more than `minDelta` in the given direction. */
export function improves(value: number, best: number, mode: 'min' | 'max', minDelta: number): boolean {
  if (!Number.isFinite(value)) return false;
  if (!Number.isFinite(best)) return true;
  return mode === 'min' ? value < best - minDelta : value > best + minDelta;
}

/**
 * The metric a monitoring callback watches: the one asked for, else `valLoss` when there is
 * validation data and `loss` otherwise. Throws when a validation metric is required without
 * validation data.
 */
export function chooseMonitor(
  who: string,
  asked: MonitorName | undefined,
  valSamples: number,
  requireData = true,
): MonitorName {
  const monitor = asked ?? (valSamples > 0 ? 'valLoss' : 'loss');
  if (requireData && monitor.startsWith('val') && valSamples === 0) {
    throw new TrainError('monitor', `${who} monitors ${monitor} but fit was given no validation data`);
  }
  return monitor;
}

/** Reads a monitored value from an epoch's logs; `undefined` when absent (no validation set). */
export function monitorValue(logs: EpochLogs, monitor: MonitorName): number | undefined {
  return logs[monitor];
}
