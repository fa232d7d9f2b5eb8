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
  'lr',
  'samplesPerSecond',
  'epochSeconds',
];

/** The history as CSV: a header row of {@link HISTORY_COLUMNS}, one row per epoch, empty cells for absent values. */
export function historyToCsv(history: readonly EpochLogs[]): string {
  const rows = [HISTORY_COLUMNS.join(',')];
  for (const logs of history)
    rows.push(HISTORY_COLUMNS.map((c) => (logs[c] === undefined ? '' : String(logs[c]))).join(','));
  return `${rows.join('\n')}\n`;
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
 * after every epoch, each file atomically.
 */
export function historyWriter(dir: string, options: HistoryWriterOptions = {}): Callback {
  if (typeof dir !== 'string' || dir.length === 0)
    throw new TrainError('dir', 'historyWriter needs a directory');
  const jsonFile = join(dir, options.json ?? 'history.json');
  const csvFile = join(dir, options.csv ?? 'history.csv');
  return {
    name: 'historyWriter',
    async onEpochEnd(_epoch: number, _logs: EpochLogs, ctx: TrainContext) {
      await writeFileAtomic(jsonFile, `${JSON.stringify(ctx.history, null, 2)}\n`);
      await writeFileAtomic(csvFile, historyToCsv(ctx.history));
      return undefined;
    },
  };
}
