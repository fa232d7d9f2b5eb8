// The coordinator's side of a study on a queue: enqueue the jobs that have no result yet (BullMQ job
// id = the job's content hash, so a job is never queued twice), then wait for each to finish on
// whichever worker takes it, keeping each result in the store as it arrives.
import { checkInteger, plural } from '@lenet/common';
import { type Job, Queue, QueueEvents } from 'bullmq';
import { StudyError } from '../errors.js';
import { isFinalResult } from '../result.js';
import { type ExecuteOptions, type JobResult, STUDY_JOB_TYPE, type StudyJob } from '../types.js';
import { parseQueueUrl, probeQueue, type QueueConnection, STUDY_QUEUE_NAME } from './connection.js';
import { failedAttempt, failedResult, resultProblem } from './outcome.js';

/** Options of {@link runJobsOnQueue}: those of every executor, and the queue's. */
export interface QueueExecuteOptions extends ExecuteOptions {
  /** `redis://[user:password@]host[:port][/db]`, or `rediss://…` for TLS. */
  queue: string;
  /** Tries per job for failures other than bad input (which fails once). Default 3, with backoff. */
  attempts?: number;
  /** Progress lines (jobs queued, found finished, results); credentials never appear in them. */
  log?: (line: string) => void;
}

/** Default tries per job. A job whose worker vanishes is retried apart from these (see the worker). */
export const DEFAULT_ATTEMPTS = 3;
/** First retry delay of a failed attempt; doubled each time (2 s, 4 s…). */
const BACKOFF_MS = 2000;
/** Finished jobs stay in Redis this long, so a coordinator restarted within it collects them. */
const KEEP_FINISHED_SECONDS = 7 * 24 * 3600;
/** Besides the events: how often the states of the awaited jobs are read (a missed event costs this much). */
const SWEEP_MS = 5000;

/**
 * Runs `jobs` through the BullMQ queue at `options.queue` and returns their results in job order.
 * Jobs with a result in `options.store` are not run again; the others are queued under their own id
 * (queuing an id that is already queued does nothing), and a job that already finished in Redis,
 * say while this coordinator was down, is collected without training it again. Each new result is
 * put in the store and passed to `onResult` as it arrives (stored ones count in `done`). A failing
 * job is tried `attempts` times with exponential backoff; one that fails for a reason in its input
 * fails once. Comes back as a failed result with the reason either way. Throws a {@link StudyError}:
 * `QUEUE_UNAVAILABLE` when Redis cannot be reached (within seconds), `JOB_INTERRUPTED` when
 * `signal` aborts (queued jobs stay queued: running the study again collects them).
 */
export async function runJobsOnQueue(
  jobs: readonly StudyJob[],
  options: QueueExecuteOptions,
): Promise<JobResult[]> {
  const attempts = checkInteger('attempts', options.attempts ?? DEFAULT_ATTEMPTS, { min: 1 });
  const connection = parseQueueUrl(options.queue);
  const byId = new Map(jobs.map((job) => [job.id, job]));
  const results = new Map<string, JobResult>();
  // A stored failure that was not the input's fault (a job process died…) runs again, as locally.
  const retry = new Set<string>();
  for (const job of byId.values()) {
    const stored = await options.store.get(job.id);
    if (stored && isFinalResult(stored)) results.set(job.id, stored);
    else if (stored) retry.add(job.id);
  }
  const pending = [...byId.values()].filter((job) => !results.has(job.id));
  if (pending.length > 0) {
    if (options.signal?.aborted)
      throw new StudyError('JOB_INTERRUPTED', `stopped before queuing ${plural(pending.length, 'job')}`);
    await probeQueue(connection);
    await collect(pending, retry, connection, attempts, results, byId.size, options);
  }
  return jobs.map((job) => results.get(job.id) as JobResult);
}

async function collect(
  pending: StudyJob[],
  retry: ReadonlySet<string>,
  connection: QueueConnection,
  attempts: number,
  results: Map<string, JobResult>,
  total: number,
  options: QueueExecuteOptions,
): Promise<void> {
  const log = (line: string) => options.log?.(connection.scrub(line));
  const queue = new Queue(STUDY_QUEUE_NAME, { connection: connection.options });
  let events: QueueEvents | undefined;
  const waiting = new Map(pending.map((job) => [job.id, job]));
  let done = results.size;
  let settle: (error?: Error) => void = () => {};
  const finished = new Promise<void>((resolve, reject) => {
    settle = (error) => (error ? reject(error) : resolve());
  });
  // Awaited only once every job is queued; an abort before that must not count as unhandled.
  finished.catch(() => {});
  // Results are kept one at a time and in arrival order; an event and a sweep may report the same job.
  let chain = Promise.resolve();
  const accept = (result: JobResult) => {
    const job = waiting.get(result.id);
    if (!job) return;
    waiting.delete(result.id);
    chain = chain
      .then(async () => {
        await options.store.put(result);
        results.set(result.id, result);
        done += 1;
        options.onResult?.(result, done, total);
        if (waiting.size === 0) settle();
      })
      .catch((e: unknown) => settle(e as Error));
  };
  // The state is read before the job: a job read first and then found completed may have finished
  // in between, and its copy would lack the result (the state moves with the result, atomically).
  const examine = async (job: StudyJob): Promise<'waiting' | 'missing'> => {
    const state = await queue.getJobState(job.id);
    if (state === 'unknown') return 'missing';
    if (state !== 'completed' && state !== 'failed') return 'waiting';
    const found = await queue.getJob(job.id);
    if (!found) return 'missing';
    accept(state === 'completed' ? completedResult(job, found) : failedJobResult(job, found));
    return 'waiting';
  };
  const onError = (e: Error) => log(`queue ${connection.redacted}: ${e.message}`);
  queue.on('error', onError);
  const abort = () =>
    settle(
      new StudyError(
        'JOB_INTERRUPTED',
        `stopped waiting for ${plural(waiting.size, 'job')}; they stay queued at ${connection.redacted}, the workers go on with them, and running the study again collects their results`,
      ),
    );
  options.signal?.addEventListener('abort', abort, { once: true });
  if (options.signal?.aborted) abort();
  let sweeper: NodeJS.Timeout | undefined;
  try {
    // An event missed while the listener starts (a job already running that finishes just then)
    // is made up for by the sweep below.
    events = new QueueEvents(STUDY_QUEUE_NAME, { connection: connection.options });
    events.on('error', onError);
    events.on('completed', ({ jobId }) => {
      const job = waiting.get(jobId);
      if (job) void examine(job).catch(onError);
    });
    events.on('failed', ({ jobId }) => {
      const job = waiting.get(jobId);
      if (job) void examine(job).catch(onError);
    });
    await events.waitUntilReady();

    const missing: StudyJob[] = [];
    let queued = 0;
    for (const job of pending) {
      if (retry.has(job.id)) {
        const found = await queue.getJob(job.id);
        if (found && (await found.getState()) === 'failed') await found.retry('failed');
      }
      if ((await examine(job)) === 'missing') missing.push(job);
      else queued += 1;
    }
    const collected = pending.length - waiting.size;
    await queue.addBulk(missing.map((job) => queueEntry(job, attempts)));
    log(
      `queue ${connection.redacted}: ${plural(missing.length, 'job')} queued, ${queued - collected} already queued, ` +
        `${collected} finished in Redis, ${total - pending.length} in the store`,
    );
    if (waiting.size === 0) settle();
    // A job removed from Redis while awaited (by hand, or aged out) is queued again.
    sweeper = setInterval(() => {
      for (const job of waiting.values())
        void examine(job)
          .then((found) => (found === 'missing' ? queue.addBulk([queueEntry(job, attempts)]) : undefined))
          .catch(onError);
    }, SWEEP_MS);
    await finished;
    await chain;
  } finally {
    clearInterval(sweeper);
    options.signal?.removeEventListener('abort', abort);
    await events?.close();
    await queue.close();
  }
}

/** How a job goes onto the queue: under its own id, with its tries, kept a while once finished. */
function queueEntry(job: StudyJob, attempts: number) {
  return {
    name: STUDY_JOB_TYPE,
    data: job,
    opts: {
      jobId: job.id,
      attempts,
      backoff: { type: 'exponential', delay: BACKOFF_MS },
      removeOnComplete: { age: KEEP_FINISHED_SECONDS },
      removeOnFail: { age: KEEP_FINISHED_SECONDS },
    },
  };
}

/** The result a completed BullMQ job returned, or a failed result saying why it is not one. */
function completedResult(job: StudyJob, bullJob: Job): JobResult {
  const problem = resultProblem(bullJob.returnvalue, job);
  if (problem === undefined) return bullJob.returnvalue as JobResult;
  return failedResult(
    job,
    { code: 'STUDY_FAILED', message: `the worker's result is not a job result: ${problem}`, kind: 'failure' },
    { worker: bullJob.processedBy, finishedOn: bullJob.finishedOn },
  );
}

/** A failed BullMQ job as a result: the worker's own failed result when it left one. */
function failedJobResult(job: StudyJob, bullJob: Job): JobResult {
  const attempt = failedAttempt(bullJob.progress, job);
  if (attempt && 'result' in attempt) return attempt.result;
  const tries = `${plural(bullJob.attemptsMade, 'attempt')}`;
  return failedResult(
    job,
    attempt?.error ?? {
      code: 'STUDY_FAILED',
      message: `failed after ${tries}: ${bullJob.failedReason}`,
      kind: 'failure',
    },
    { worker: bullJob.processedBy, finishedOn: bullJob.finishedOn },
  );
}
