// The coordinator's side of `pnpm bench --queue`: each job on its backend's queue under its
// content-hash id (queuing an id that is already there does nothing, so the same --run-id
// resumes), then the jobs watched until each has finished, failed, or waited longer than
// --wait-seconds for a worker of its backend.
import { plural } from '@lenet/common';
import { parseQueueUrl, probeQueue } from '@lenet/study';
import { type Job, Queue } from 'bullmq';
import { BenchUsageError } from '../errors.js';
import { validateResults } from '../results-file.js';
import { errorMessage } from '../run/context.js';
import type { BenchBackend, BenchResult } from '../types.js';
import { BENCH_JOB_TYPE, type BenchJob, benchJobId, benchQueueName } from './job.js';
import { pause } from './wait.js';

/** Options of {@link runBenchJobsOnQueue}. */
export interface BenchQueueOptions {
  /** `redis://[user:password@]host[:port][/db]`, or `rediss://…` for TLS. */
  queue: string;
  /** How long a job may wait unstarted (since queued, or since it last ran) before it is withdrawn. */
  waitSeconds: number;
  /** Tries of a job whose process dies or whose run throws (a failed cell is a result, not this). Default 2. */
  attempts?: number;
  /** Progress lines; credentials never appear in them. */
  log: (line: string) => void;
  /** Stops waiting: the jobs stay queued, and the same command with the same run id collects them. */
  signal?: AbortSignal;
}

/** What became of one job. */
export type BenchJobOutcome = { job: BenchJob; id: string } & (
  | {
      status: 'done';
      result: BenchResult;
      /** The worker that ran it (its `--name`). */
      worker: string;
      seconds: number;
      /** When it started and finished on its worker (ms since the epoch, the queue's clock). */
      startedAt: number;
      finishedAt: number;
      /** Finished before this command looked: collected, not measured again. */
      earlier: boolean;
    }
  | { status: 'failed'; reason: string; worker?: string }
  | { status: 'no-worker'; waitedSeconds: number }
);

/** How a stopped coordinator ends (the CLI exits 130). */
export class QueueWaitInterrupted extends Error {
  override readonly name = 'QueueWaitInterrupted';
}

/** Default tries of a job. */
export const DEFAULT_BENCH_ATTEMPTS = 2;
/** First retry delay of a failed attempt, doubled each time. */
const BACKOFF_MS = 5000;
/** Finished jobs stay in Redis this long, so the same run id collects them within it. */
const KEEP_FINISHED_SECONDS = 7 * 24 * 3600;
/** How often the coordinator reads the states of its jobs. */
const POLL_MS = 1000;

/** A completed job's return value if it is the results file of that job, else why not. */
function checkedResult(bullJob: Job, job: BenchJob): BenchResult | string {
  let r: BenchResult;
  try {
    r = validateResults(bullJob.returnvalue, `the result of job ${bullJob.id} (${job.backend})`);
  } catch (e) {
    return errorMessage(e);
  }
  const backends = r.options.backends;
  if (backends.length !== 1 || backends[0] !== job.backend) {
    return `the result of job ${bullJob.id} is of backends ${JSON.stringify(backends)}, not of the job's ['${job.backend}']`;
  }
  const stray = r.cells.find((c) => c.backend !== job.backend);
  if (stray)
    return `the result of job ${bullJob.id} (${job.backend}) has a cell of backend ${stray.backend} (${stray.id})`;
  return r;
}

/**
 * Runs `jobs` through their backends' queues at `options.queue` and returns what became of each,
 * in job order. A job already in Redis under its id is not queued again: a finished one is
 * collected, a running one awaited, a failed one retried (the command was run again to get it).
 * A job no worker has started within `waitSeconds` (counted again whenever it goes back to
 * waiting) is withdrawn from its queue and comes back as `no-worker`. Throws a StudyError
 * `QUEUE_UNAVAILABLE` when Redis cannot be reached, {@link QueueWaitInterrupted} when `signal`
 * aborts (queued jobs stay queued).
 */
export async function runBenchJobsOnQueue(
  jobs: readonly BenchJob[],
  options: BenchQueueOptions,
): Promise<BenchJobOutcome[]> {
  const connection = parseQueueUrl(options.queue);
  const log = (line: string) => options.log(connection.scrub(line));
  const attempts = options.attempts ?? DEFAULT_BENCH_ATTEMPTS;
  const interrupted = (waiting: number) =>
    new QueueWaitInterrupted(
      `stopped waiting for ${plural(waiting, 'job')}; they stay queued, the workers go on with them, and the same command with the same --run-id collects their results`,
    );
  if (options.signal?.aborted) throw interrupted(jobs.length);
  if (jobs.length === 0) throw new BenchUsageError('nothing to queue: the plan has no cell for any backend');
  await probeQueue(connection);
  const queues = new Map<BenchBackend, Queue>();
  for (const job of jobs) {
    if (queues.has(job.backend)) continue;
    const queue = new Queue(benchQueueName(job.backend), { connection: connection.options });
    queue.on('error', (e) => log(`queue ${connection.redacted} (${job.backend}): ${errorMessage(e)}`));
    queues.set(job.backend, queue);
  }
  const queueOf = (job: BenchJob) => queues.get(job.backend) as Queue;
  const add = (job: BenchJob, id: string) =>
    queueOf(job).add(BENCH_JOB_TYPE, job, {
      jobId: id,
      attempts,
      backoff: { type: 'exponential', delay: BACKOFF_MS },
      removeOnComplete: { age: KEEP_FINISHED_SECONDS },
      removeOnFail: { age: KEEP_FINISHED_SECONDS },
    });
  const outcomes = new Map<string, BenchJobOutcome>();
  try {
    const pending = new Map<string, { job: BenchJob; since: number; runningOn?: string }>();
    const earlier = new Set<string>();
    const counts = { queued: 0, waiting: 0, finished: 0, retried: 0 };
    for (const job of jobs) {
      const id = benchJobId(job);
      const state = await queueOf(job).getJobState(id);
      const found = state === 'unknown' ? undefined : await queueOf(job).getJob(id);
      if (!found || state === 'unknown') {
        await add(job, id);
        counts.queued += 1;
      } else if (state === 'failed') {
        await found.retry('failed');
        counts.retried += 1;
      } else if (state === 'completed') {
        earlier.add(id);
        counts.finished += 1;
      } else {
        counts.waiting += 1;
      }
      pending.set(id, { job, since: Date.now() });
    }
    log(
      `queue ${connection.redacted}: ${plural(jobs.length, 'job')} (${jobs.map((j) => j.backend).join(', ')}): ` +
        `${counts.queued} queued, ${counts.retried} failed before and queued again, ${counts.waiting} already queued or running, ${counts.finished} finished before`,
    );
    while (pending.size > 0) {
      if (options.signal?.aborted) throw interrupted(pending.size);
      for (const [id, p] of pending) {
        const { job } = p;
        // State first: a job read before it completes would be found completed without its result.
        const state = await queueOf(job).getJobState(id);
        const found = state === 'unknown' ? undefined : await queueOf(job).getJob(id);
        if (!found || state === 'unknown') {
          // Removed while awaited (by hand, or aged out): queued again.
          await add(job, id);
          p.since = Date.now();
          continue;
        }
        if (state === 'completed') {
          const checked = checkedResult(found, job);
          const worker = found.processedBy ?? 'unknown';
          outcomes.set(
            id,
            typeof checked === 'string'
              ? { job, id, status: 'failed', reason: checked, worker }
              : {
                  job,
                  id,
                  status: 'done',
                  result: checked,
                  worker,
                  seconds: Math.round(((found.finishedOn ?? 0) - (found.processedOn ?? 0)) / 100) / 10,
                  startedAt: found.processedOn ?? 0,
                  finishedAt: found.finishedOn ?? 0,
                  earlier: earlier.has(id),
                },
          );
          pending.delete(id);
          log(
            typeof checked === 'string'
              ? `job ${id} (${job.backend}): ${checked}`
              : `job ${id} (${job.backend}): ${earlier.has(id) ? 'finished before, collected' : 'done'} on ${worker}`,
          );
        } else if (state === 'failed') {
          const reason = found.failedReason || 'no reason given';
          outcomes.set(id, {
            job,
            id,
            status: 'failed',
            reason,
            ...(found.processedBy ? { worker: found.processedBy } : {}),
          });
          pending.delete(id);
          log(`job ${id} (${job.backend}): failed after ${plural(found.attemptsMade, 'attempt')}: ${reason}`);
        } else if (state === 'active') {
          if (p.runningOn === undefined)
            log(`job ${id} (${job.backend}): running on ${found.processedBy ?? 'a worker'}`);
          p.runningOn = found.processedBy ?? 'a worker';
          p.since = Date.now();
        } else {
          p.runningOn = undefined;
          const waited = (Date.now() - p.since) / 1000;
          if (waited < options.waitSeconds) continue;
          try {
            await found.remove();
          } catch {
            continue; // a worker took it just now (a locked job cannot be removed)
          }
          outcomes.set(id, { job, id, status: 'no-worker', waitedSeconds: Math.round(waited) });
          pending.delete(id);
          log(
            `job ${id} (${job.backend}): no worker for backend ${job.backend} within ${Math.round(waited)} s; withdrawn from the queue`,
          );
        }
      }
      if (pending.size > 0) await pause(POLL_MS, options.signal);
    }
  } finally {
    await Promise.all([...queues.values()].map((q) => q.close()));
  }
  return jobs.map((job) => outcomes.get(benchJobId(job)) as BenchJobOutcome);
}
