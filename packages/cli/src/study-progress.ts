// Progress of `lenet study run`: a bar of jobs done/total with an ETA on a terminal, one plain
// line per finished job otherwise (CI logs, pipes).
import type { JobResult } from '@lenet/study';
import cliProgress from 'cli-progress';
import type { CliIo } from './io.js';

/** What the run command tells the progress display. */
export interface StudyProgress {
  /** A job finished (`done` counts the jobs reused from an earlier run too). */
  update(result: JobResult, done: number, total: number): void;
  stop(): void;
}

function describe(r: JobResult): string {
  const what =
    r.status === 'done'
      ? `test accuracy ${((r.testAccuracy ?? 0) * 100).toFixed(2)}%`
      : `FAILED (${r.error?.code}: ${r.error?.message})`;
  return `${r.arm} seed ${r.seed}: ${what} (${r.wallSeconds.toFixed(1)} s, ${r.worker})`;
}

/** A progress display of `total` jobs of which `reused` were done before; on `io.out`. */
export function studyProgress(io: CliIo, total: number, reused: number): StudyProgress {
  if (!io.interactive) {
    return {
      update: (r, done, n) => io.out(`[${done}/${n}] ${describe(r)}\n`),
      stop: () => {},
    };
  }
  const stream = { write: (text: string) => io.out(text), isTTY: true, columns: process.stdout.columns };
  const bar = new cliProgress.SingleBar(
    {
      stream: stream as unknown as NodeJS.WritableStream,
      format: 'jobs {bar} {value}/{total} | ETA {eta_formatted} | last: {last}',
      hideCursor: false,
      clearOnComplete: false,
      etaBuffer: 20,
      fps: 5,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, reused, { last: '-' });
  return {
    update: (r, done) => bar.update(done, { last: describe(r) }),
    stop: () => bar.stop(),
  };
}
