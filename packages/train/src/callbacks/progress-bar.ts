import cliProgress from 'cli-progress';
import type { BatchLogs, Callback, TrainContext } from '../callback.js';
import { TrainError } from '../errors.js';
import type { EpochLogs } from '../logs.js';

/** Where progress goes: a writable text stream (default `process.stdout`). */
export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/** Options of {@link progressBar}. */
export interface ProgressBarOptions {
  stream?: ProgressStream;
  /**
   * Force the mode: `'bar'` (redrawn in place) or `'lines'` (plain periodic lines). Default: a bar
   * when the stream is a TTY and `CI` is not set, lines otherwise.
   */
  mode?: 'bar' | 'lines';
  /** Lines mode: a line every this many batches (default: time-based, see `intervalSeconds`). */
  everyBatches?: number;
  /** Lines mode: a line at most every this many seconds (default 10). */
  intervalSeconds?: number;
  /** Bar mode: how often the displayed loss/accuracy is read back from the device (default 0.5 s). */
  refreshSeconds?: number;
}

function isCi(): boolean {
  const ci = process.env.CI;
  return ci !== undefined && ci !== '' && ci !== '0' && ci.toLowerCase() !== 'false';
}

function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)}s`;
  const m = Math.floor(seconds / 60);
  const s = Math.round(seconds % 60);
  return m < 60
    ? `${m}m${String(s).padStart(2, '0')}s`
    : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

const fmt = (v: number | undefined, digits = 4): string =>
  v === undefined || Number.isNaN(v) ? '-' : v.toFixed(digits);

/** The one-line summary printed at the end of an epoch. */
export function epochSummary(logs: EpochLogs, epochs: number): string {
  const parts = [`epoch ${logs.epoch + 1}/${epochs}`, `loss ${fmt(logs.loss)}`, `acc ${fmt(logs.accuracy)}`];
  if (logs.valLoss !== undefined)
    parts.push(`val_loss ${fmt(logs.valLoss)}`, `val_acc ${fmt(logs.valAccuracy)}`);
  parts.push(
    `lr ${logs.lr.toExponential(2)}`,
    `${Math.round(logs.samplesPerSecond)} samples/s`,
    `${duration(logs.epochSeconds)}`,
  );
  return parts.join(' | ');
}

/**
 * A terminal progress display: a bar with loss, accuracy, samples/s and ETA redrawn in place on a
 * TTY; plain periodic lines when the output is not a TTY or `CI` is set. It reads the running
 * metrics back from the device at most every `refreshSeconds` (bar) or per printed line.
 */
export function progressBar(options: ProgressBarOptions = {}): Callback {
  const stream: ProgressStream = options.stream ?? process.stdout;
  const mode = options.mode ?? (stream.isTTY && !isCi() ? 'bar' : 'lines');
  const refresh = options.refreshSeconds ?? 0.5;
  const interval = options.intervalSeconds ?? 10;
  const everyBatches = options.everyBatches;
  if (everyBatches !== undefined && (!Number.isInteger(everyBatches) || everyBatches < 1)) {
    throw new TrainError(
      'everyBatches',
      `progressBar everyBatches must be a positive integer, got ${everyBatches}`,
    );
  }
  let bar: cliProgress.SingleBar | null = null;
  let lastRead = 0;
  let lastLine = 0;
  let epochStart = 0;
  let reading = false;

  const payload = { loss: '-', acc: '-', sps: '-' };

  return {
    name: 'progressBar',
    onEpochBegin(epoch: number, ctx: TrainContext) {
      epochStart = performance.now();
      lastRead = epochStart;
      lastLine = epochStart;
      if (mode === 'bar') {
        bar = new cliProgress.SingleBar(
          {
            stream: stream as NodeJS.WritableStream,
            format: `epoch ${epoch + 1}/${ctx.epochs} {bar} {value}/{total} | loss {loss} | acc {acc} | {sps} samples/s | ETA {eta_formatted}`,
            hideCursor: false,
            clearOnComplete: true,
            stopOnComplete: false,
            etaBuffer: 50,
            fps: 10,
          },
          cliProgress.Presets.shades_classic,
        );
        payload.loss = '-';
        payload.acc = '-';
        payload.sps = '-';
        bar.start(ctx.stepsPerEpoch, 0, payload);
      }
      return undefined;
    },
    async onBatchEnd(batch: number, _logs: BatchLogs, ctx: TrainContext) {
      const now = performance.now();
      const done = batch + 1;
      if (mode === 'bar') {
        if (!bar) return undefined;
        if ((now - lastRead) / 1000 >= refresh && !reading) {
          reading = true;
          lastRead = now;
          const m = await ctx.runningMetrics();
          reading = false;
          payload.loss = fmt(m.loss);
          payload.acc = fmt(m.accuracy);
          payload.sps = String(Math.round(m.samples / Math.max(m.seconds, 1e-9)));
        }
        bar.update(done, payload);
        return undefined;
      }
      const due =
        everyBatches !== undefined ? done % everyBatches === 0 : (now - lastLine) / 1000 >= interval;
      if (!due || done === ctx.stepsPerEpoch) return undefined;
      lastLine = now;
      const m = await ctx.runningMetrics();
      const sps = m.samples / Math.max(m.seconds, 1e-9);
      const eta = ((ctx.stepsPerEpoch - done) * m.seconds) / done;
      stream.write(
        `epoch ${ctx.epoch + 1}/${ctx.epochs} batch ${done}/${ctx.stepsPerEpoch} | loss ${fmt(m.loss)} | acc ${fmt(m.accuracy)} | ${Math.round(sps)} samples/s | ETA ${duration(eta)}\n`,
      );
      return undefined;
    },
    onEpochEnd(_epoch: number, logs: EpochLogs, ctx: TrainContext) {
      if (bar) {
        bar.stop();
        bar = null;
      }
      stream.write(`${epochSummary(logs, ctx.epochs)}\n`);
      return undefined;
    },
    onTrainEnd(ctx: TrainContext) {
      if (bar) {
        bar.stop();
        bar = null;
      }
      if (ctx.stopReason !== null) stream.write(`stopped: ${ctx.stopReason}\n`);
    },
  };
}
