import { randomBytes } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { isAbsolute, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isLenetError, plural, writeFileAtomic } from '@lenet/common';
import { type ParsedArgs, parseBenchArgs, type QueueArgs, USAGE } from './args.js';
import { compareResults, renderComparison } from './compare.js';
import { REPO_ROOT } from './env.js';
import { BenchUsageError } from './errors.js';
import { mergeResults } from './merge/merge.js';
import { writeMergedReport } from './merge/render.js';
import { sourceNames } from './merge/sources.js';
import { renderSummary, writeRunDir } from './report.js';
import { readResults } from './results-file.js';
import { type RunPlan, runBenchmark } from './run.js';
import type { BenchResult } from './types.js';

/** Where output goes (tests capture it): progress on `err`, the summary and the report's path on `out`. */
export interface MainIo {
  out: (text: string) => void;
  err: (text: string) => void;
  /** Directory relative paths are resolved against (default: where `pnpm bench` was started). */
  cwd?: string;
}

const defaultIo: MainIo = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
};

/** `runs/<prefix>-<timestamp>` under the repository root (`bench-merge` for a merged report). */
export function defaultRunDir(date = new Date(), prefix = 'bench'): string {
  return join(REPO_ROOT, 'runs', `${prefix}-${date.toISOString().replace(/[:.]/g, '-')}`);
}

/** `p` relative to `cwd` when it lies inside it, else as given: how output names a path. */
function shownPath(p: string, cwd: string): string {
  const rel = relative(cwd, p);
  return rel === '' || rel.startsWith('..') || isAbsolute(rel) ? p : rel;
}

/** `--merge`: reads and checks every file first, then writes the merged report. */
async function mergeFiles(
  files: string[],
  outDir: string | undefined,
  cwd: string,
  io: MainIo,
): Promise<number> {
  const sources = sourceNames(files, cwd);
  const results: BenchResult[] = [];
  // One file after the other, so that the first bad file is the one reported.
  for (const f of files) results.push(await readResults(f, shownPath(f, cwd)));
  const merged = mergeResults(results, sources);
  let file: string;
  try {
    file = await writeMergedReport(merged, outDir ?? defaultRunDir(new Date(), 'bench-merge'));
  } catch (err) {
    io.err(
      `pnpm bench: the merged report could not be written: ${err instanceof Error ? err.message : String(err)}\n`,
    );
    return 1;
  }
  io.out(
    `Merged ${plural(merged.runs.length, 'run')} from ${plural(merged.machines, 'machine')}:\n${merged.runs.map((r) => `- ${r.label} (${r.source})`).join('\n')}\nMerged report: ${shownPath(file, cwd)}\n`,
  );
  return 0;
}

/** A new run id: the start time to the second and 4 random hex digits (`20261201-090000-1a2b`). */
function newRunId(date = new Date()): string {
  const t = date.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${t}-${randomBytes(2).toString('hex')}`;
}

/** Time-stamped lines on stderr, as `lenet worker` writes them. */
function stamped(io: MainIo): (line: string) => void {
  return (line) => io.err(`${new Date().toISOString().slice(0, 19)}Z ${line}\n`);
}

/**
 * Runs `body` with SIGINT/SIGTERM aborting its signal (a second signal exits at once, 130).
 */
async function stoppable<T>(io: MainIo, what: string, body: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(130);
    io.err(`${signal}: ${what} (again to quit at once)\n`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await body(controller.signal);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** Errors of the queue commands: bad input (a bad URL, a bad file) exits 2, anything else 1. */
function queueFailure(err: unknown, io: MainIo): number {
  io.err(`pnpm bench: ${err instanceof Error ? err.message : String(err)}\n`);
  return isLenetError(err) && err.kind === 'input' ? 2 : 1;
}

/** `pnpm bench worker --queue URL`: runs a bench worker until SIGINT/SIGTERM. */
async function workerCommand(args: Extract<ParsedArgs, { mode: 'worker' }>, io: MainIo): Promise<number> {
  const { runBenchWorker } = await import('./queue/worker.js');
  try {
    await stoppable(io, 'stopping (a job in progress goes back to the queue)', (signal) =>
      runBenchWorker({
        queue: args.queue,
        ...(args.backends ? { backends: args.backends } : {}),
        ...(args.name !== undefined ? { name: args.name } : {}),
        lockSeconds: args.lockSeconds,
        log: stamped(io),
        signal,
      }),
    );
    return 0;
  } catch (err) {
    return queueFailure(err, io);
  }
}

/**
 * `pnpm bench --queue URL`: the plan as one job per backend on the workers, then one results
 * file per machine and the merged report in the run directory.
 */
async function queueCommand(
  plan: RunPlan,
  queue: QueueArgs,
  outDir: string | undefined,
  cwd: string,
  io: MainIo,
): Promise<number> {
  const { splitPlan } = await import('./queue/job.js');
  const { runBenchJobsOnQueue, QueueWaitInterrupted } = await import('./queue/coordinator.js');
  const { writeQueueReport } = await import('./queue/report.js');
  const runId = queue.runId ?? newRunId();
  const log = stamped(io);
  log(
    `run ${runId} (the same command with --run-id ${runId} resumes it: finished jobs are collected, not measured again)`,
  );
  let outcomes: Awaited<ReturnType<typeof runBenchJobsOnQueue>>;
  try {
    outcomes = await stoppable(io, 'stopping (queued jobs stay queued)', (signal) =>
      runBenchJobsOnQueue(splitPlan(plan, runId), {
        queue: queue.url,
        waitSeconds: queue.waitSeconds,
        log,
        signal,
      }),
    );
  } catch (err) {
    if (err instanceof QueueWaitInterrupted) {
      io.err(`pnpm bench: ${err.message} (--run-id ${runId})\n`);
      return 130;
    }
    return queueFailure(err, io);
  }
  const dir = outDir ?? defaultRunDir(new Date(), 'bench-queue');
  const missing = outcomes.flatMap((o) => (o.status === 'no-worker' ? [o.job.backend] : []));
  const failedJobs = outcomes.filter((o) => o.status === 'failed');
  const report = await writeQueueReport(outcomes, plan, runId, dir);
  if (!report) {
    const why = outcomes.map((o) =>
      o.status === 'failed' ? `${o.job.backend}: failed (${o.reason})` : `${o.job.backend}: no worker`,
    );
    io.err(`pnpm bench: no job finished, nothing written:\n${why.map((w) => `- ${w}`).join('\n')}\n`);
    return 1;
  }
  const shown = (p: string): string => shownPath(p, cwd);
  const machines = report.machines.map(
    (m) =>
      `- ${m.result.env.hostname ?? 'unknown host'}: ${m.result.options.backends.join(', ')} (${shown(m.file)})`,
  );
  io.out(
    `Ran ${plural(outcomes.length - missing.length - failedJobs.length, 'job')} of ${outcomes.length} on ${plural(report.machines.length, 'machine')}:\n${machines.join('\n')}\n` +
      (missing.length > 0 ? `No worker for backend ${missing.join(', ')} (see the report's notes)\n` : '') +
      (failedJobs.length > 0
        ? `Failed: ${failedJobs.map((o) => o.job.backend).join(', ')} (see the report's notes)\n`
        : '') +
      `Merged report: ${shown(report.file)}\n`,
  );
  const failedCells = report.machines.reduce(
    (n, m) => n + m.result.cells.filter((c) => c.status === 'failed').length,
    0,
  );
  if (failedCells > 0) io.err(`pnpm bench: ${failedCells} cell(s) failed (see the report)\n`);
  return failedJobs.length > 0 || failedCells > 0 ? 1 : 0;
}

/**
 * The `pnpm bench` command. Returns the exit code: 0 done, 1 a cell failed or the run crashed,
 * 2 bad arguments or compare or merge files (reported before anything is written).
 */
export async function main(argv: readonly string[], io: MainIo = defaultIo): Promise<number> {
  // pnpm runs the script inside benchmarks/; INIT_CWD is where the user typed `pnpm bench`.
  const cwd = io.cwd ?? process.env.INIT_CWD ?? process.cwd();
  let args: ParsedArgs;
  try {
    args = parseBenchArgs(argv, cwd);
    if (args.mode === 'help') {
      io.out(`${USAGE}\n`);
      return 0;
    }
    if (args.mode === 'merge') return await mergeFiles(args.files, args.outDir, cwd, io);
    if (args.mode === 'worker') return await workerCommand(args, io);
    if (args.mode === 'compare') {
      const [o, n] = await Promise.all([
        readResults(args.oldFile, shownPath(args.oldFile, cwd)),
        readResults(args.newFile, shownPath(args.newFile, cwd)),
      ]);
      const cmp = compareResults(o, n);
      io.out(renderComparison(cmp, o, n, { old: args.oldFile, new: args.newFile }));
      return 0;
    }
  } catch (err) {
    if (err instanceof BenchUsageError) {
      io.err(`pnpm bench: ${err.message}\n`);
      return err.exitCode;
    }
    throw err;
  }
  const plan: RunPlan = {
    profile: args.profile,
    models: args.models,
    backends: args.backends,
    batchSizes: args.batchSizes,
    tasks: args.tasks,
  };
  if (args.queue) return await queueCommand(plan, args.queue, args.outDir, cwd, io);
  try {
    const result = await runBenchmark(plan, (line) => io.err(`${line}\n`));
    const dir = args.outDir ?? defaultRunDir();
    await writeRunDir(result, dir);
    if (args.jsonFile) await writeFileAtomic(args.jsonFile, `${JSON.stringify(result, null, 2)}\n`);
    if (args.jsonFile) io.err(`results JSON also written to ${args.jsonFile}\n`);
    // stdout ends with the summary and where the full report is, not the whole report.
    const shown = (p: string): string => shownPath(p, cwd);
    io.out(
      `\n${renderSummary(result)}\nFull report: ${shown(join(dir, 'results.md'))} (data: results.json, charts: charts/)\n`,
    );
    const failed =
      result.cells.filter((c) => c.status === 'failed').length +
      result.accuracy.filter((a) => a.status === 'failed').length;
    if (failed > 0) {
      io.err(`pnpm bench: ${failed} cell(s) failed (see the reasons above)\n`);
      return 1;
    }
    return 0;
  } catch (err) {
    io.err(
      `pnpm bench: the run failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    return 1;
  }
}

function isEntryPoint(): boolean {
  if (!process.argv[1]) return false;
  try {
    return realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(
        `pnpm bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
      );
      process.exitCode = 1;
    },
  );
}
