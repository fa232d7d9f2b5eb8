// The local pool: N job processes on this machine taking the study's jobs in order. Each result is
// stored as it arrives, so a run stopped or killed halfway resumes where it was.
import { availableParallelism } from 'node:os';
import { isLenetError } from '@lenet/common';
import { StudyError } from './errors.js';
import { JobProcess } from './job-process.js';
import { machineInfo } from './machine.js';
import { isFinalResult, jobResultProblem } from './result.js';
import type { ExecuteOptions, JobResult, StudyJob } from './types.js';

/** Options of {@link runJobsLocally}. */
export interface LocalRunOptions extends ExecuteOptions {
  /** Job processes run at once (see {@link defaultLocalWorkers}). */
  workers: number;
  /** Backend each process activates (`auto`, `wasm`, `cpu`…). */
  backend: string;
  /** wasm kernel threads per process; default: the cores shared out among the processes (at least 1). */
  threads?: number;
}

/**
 * The pool size `lenet study run` uses: one process per core, each with one wasm kernel thread.
 * Measured on the 2-core development machine (shared, 1-minute load 1-5 during the runs), wasm,
 * alternating the two layouts: report-002-batchnorm's 10 jobs (1 epoch of 12,000 images, 10,000
 * test images) took 38.2, 42.3 and 33.7 s with 2 processes x 1 thread against 46.3, 44.3 and
 * 45.5 s with 1 process x 2 threads; report-004-batchnorm's 4 jobs of the larger Keras nets 77.1 s
 * against 88.3 s. One process per core keeps both cores busy through the single-threaded parts of
 * a job (data loading, batching, optimizer steps, evaluation), where a second kernel thread idles.
 */
export function defaultLocalWorkers(cores: number = availableParallelism()): number {
  return Math.max(1, cores);
}

/** A failed result for a job whose process died or refused it (nothing came back from the job). */
function failedResult(
  job: StudyJob,
  error: unknown,
  worker: string,
  backend: string,
  started: number,
): JobResult {
  const e = isLenetError(error)
    ? { code: error.code, message: error.message, kind: error.kind }
    : {
        code: 'STUDY_FAILED',
        message: error instanceof Error ? error.message : String(error),
        kind: 'failure' as const,
      };
  return {
    id: job.id,
    study: job.study,
    arm: job.arm,
    seed: job.seed,
    status: 'failed',
    error: e,
    history: [],
    wallSeconds: Math.round((performance.now() - started) / 10) / 100,
    machine: machineInfo(),
    backend,
    worker,
    finishedAt: new Date().toISOString(),
  };
}

/**
 * Runs `jobs` on this machine in a pool of `workers` job processes and returns their results in
 * job order. A job whose result is in `store` already (done, or failed for a reason in its input)
 * is not run again; every other job runs exactly once per call, and its result is stored as soon
 * as it arrives (then `onResult` is told, with the count done so far, stored ones included). A job
 * whose process dies fails (its process is replaced for the next job) and is retried by the next
 * call. Once `signal` is aborted no job is started; those running finish and are stored, then this
 * throws a {@link StudyError} `JOB_INTERRUPTED` (run again to resume).
 * @throws StudyError `STUDY_FAILED` when a job process cannot start (e.g. the backend is missing).
 */
export async function runJobsLocally(
  jobs: readonly StudyJob[],
  options: LocalRunOptions,
): Promise<JobResult[]> {
  const { store, signal } = options;
  const unique = new Map<string, StudyJob>();
  for (const job of jobs) if (!unique.has(job.id)) unique.set(job.id, job);
  const results = new Map<string, JobResult>();
  const todo: StudyJob[] = [];
  for (const job of unique.values()) {
    const stored = await store.get(job.id);
    if (stored && isFinalResult(stored)) results.set(job.id, stored);
    else todo.push(job);
  }
  const total = unique.size;
  const interrupted = () =>
    new StudyError(
      'JOB_INTERRUPTED',
      `stopped after ${results.size} of ${total} jobs (the results so far are stored: run again to resume)`,
    );
  if (todo.length > 0 && signal?.aborted) throw interrupted();
  if (todo.length > 0) {
    const workers = Math.max(1, Math.min(options.workers, todo.length));
    const threads = options.threads ?? Math.max(1, Math.floor(availableParallelism() / workers));
    const start = (k: number) =>
      JobProcess.start({ backend: options.backend, threads, worker: `local-${k}` });
    const started = await Promise.allSettled(Array.from({ length: workers }, (_, k) => start(k + 1)));
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) {
      await Promise.all(started.map((s) => (s.status === 'fulfilled' ? s.value.stop() : undefined)));
      throw failed.reason;
    }
    const procs = started.map((s) => (s as PromiseFulfilledResult<JobProcess>).value);
    let fatal: unknown;
    const stopped = () => signal?.aborted === true || fatal !== undefined;
    const loop = async (k: number): Promise<void> => {
      const worker = `local-${k + 1}`;
      try {
        while (!stopped()) {
          const job = todo.shift();
          if (job === undefined) break;
          const since = performance.now();
          let result: JobResult;
          try {
            result = await procs[k].run(job);
            const problem = jobResultProblem(result, job.id);
            if (problem !== undefined)
              result = failedResult(
                job,
                new StudyError('STUDY_FAILED', `bad result from ${worker}: ${problem}`),
                worker,
                procs[k].backend,
                since,
              );
          } catch (e) {
            result = failedResult(job, e, worker, procs[k].backend, since);
            // A process that died is replaced; one that refused a payload is still serving.
            if (!(isLenetError(e) && e.code === 'JOB_INVALID') && !stopped()) {
              await procs[k].stop();
              procs[k] = await start(k + 1);
            }
          }
          await store.put(result);
          results.set(job.id, result);
          options.onResult?.(result, results.size, total);
        }
      } catch (e) {
        fatal ??= e;
      }
    };
    try {
      await Promise.all(procs.map((_, k) => loop(k)));
    } finally {
      await Promise.all(procs.map((p) => p.stop()));
    }
    if (fatal !== undefined) throw fatal;
    if (results.size < total) throw interrupted();
  }
  return jobs.map((job) => results.get(job.id) as JobResult);
}
