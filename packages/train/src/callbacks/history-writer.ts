import { join } from 'node:path';
import { writeFileAtomic } from '@lenet/common';
import type { Callback, TrainContext } from '../callback.js';
import { TrainError } from '../errors.js';
import type { EpochLogs } from '../logs.js';

/** Columns of the history CSV, in order. */
export const HISTORY_COLUMNS: readonly (keyof EpochLogs)[] = [
  'epoch',
  'loss',
  'accuracy',
  'valLoss',
  'valAccuracy',
  'valCrossEntropy',
  'lr',
  'samplesPerSecond',
  'epochSeconds',
];

/**
 * The history as the files show it: `epoch` counts from 1, as the progress bar and the run report
 * do (in {@link EpochLogs} it is a 0-based index).
 */
function numberedFromOne(history: readonly EpochLogs[]): EpochLogs[] {
  return history.map((logs) => ({ ...logs, epoch: logs.epoch + 1 }));
}

/**
 * The history as CSV: a header row of {@link HISTORY_COLUMNS}, one row per epoch numbered from 1,
 * empty cells for absent values.
 */
export function historyToCsv(history: readonly EpochLogs[]): string {
  const rows = [HISTORY_COLUMNS.join(',')];
  for (const logs of numberedFromOne(history))
    rows.push(HISTORY_COLUMNS.map((c) => (logs[c] === undefined ? '' : String(logs[c]))).join(','));
  return `${rows.join('\n')}\n`;
}

/** The history as JSON: one object per epoch, `epoch` numbered from 1 as in the CSV. */
function historyToJson(history: readonly EpochLogs[]): string {
  return `${JSON.stringify(numberedFromOne(history), null, 2)}\n`;
}

/** Options of {@link historyWriter}. */
export interface HistoryWriterOptions {
  /** File name of the JSON history inside the directory (default `history.json`). */
  json?: string;
  /** File name of the CSV history inside the directory (default `history.csv`). */
  csv?: string;
}

/**
 * Writes the whole history (resumed epochs included) to `dir/history.json` and `dir/history.csv`
 * after every epoch, each file atomically; both number epochs from 1.
 */
export function historyWriter(dir: string, options: HistoryWriterOptions = {}): Callback {
  if (typeof dir !== 'string' || dir.length === 0)
    throw new TrainError('dir', 'historyWriter needs a directory');
  const jsonFile = join(dir, options.json ?? 'history.json');
  const csvFile = join(dir, options.csv ?? 'history.csv');
  return {
    name: 'historyWriter',
    async onEpochEnd(_epoch: number, _logs: EpochLogs, ctx: TrainContext) {
      await writeFileAtomic(jsonFile, historyToJson(ctx.history));
      await writeFileAtomic(csvFile, historyToCsv(ctx.history));
      return undefined;
    },
  };
}
