// A queue worker: takes study jobs from the BullMQ queue and trains each in a child process (a
// JobProcess), so that this process's event loop stays free to renew the jobs' locks. Every payload
// is checked by parseJob first: the queue is an input like any other.
import { cpus, hostname } from 'node:os';
import { checkInteger, checkNumber, isLenetError, plural } from '@lenet/common';
import { type Job, UnrecoverableError, WaitingError, Worker } from 'bullmq';
import { parseJob } from '../job.js';
import { JobProcess, type JobProcessOptions } from '../job-process.js';
import { machineInfo } from '../machine.js';
import { type JobResult, STUDY_JOB_TYPE, type StudyJob } from '../types.js';
import { parseQueueUrl, probeQueue, STUDY_QUEUE_NAME } from './connection.js';
import type { FailedAttempt, JobFailure } from './outcome.js';

/** Options of {@link runQueueWorker}. */
export interface QueueWorkerOptions {
  /** `redis://[user:password@]host[:port][/db]`, or `rediss://…` for TLS. */
  queue: string;
  /** Jobs trained at once, each in its own process. Default 1. */
  concurrency?: number;
  /** Backend of the job processes (`auto`, `wasm`, `cpu`…). */
  backend: string;
  /** Wasm kernel threads per job process. Default: this machine's cores divided by `concurrency`. */
  threads?: number;
  /** Recorded in each result and log line. Default `<hostname>-<pid>`. */
  name?: string;
  /**
   * How long a job stays locked without a renewal before another worker takes it over (a worker
   * killed mid-job, a machine gone). Default {@link DEFAULT_LOCK_SECONDS}.
   */
  lockSeconds?: number;
  /** Where the worker says what it does (one line per call; credentials never appear). */
  log: (line: string) => void;
  /** Stops the worker: jobs in progress go back to the queue at once for another worker. */
  signal?: AbortSignal;
}

/** What a worker did, once stopped. */
export interface QueueWorkerSummary {
  /** Jobs trained to a result. */
  done: number;
  /** Attempts that failed (retried by the queue unless their input was at fault or tries ran out). */
  failed: number;
  /** Payloads refused: not a study job this worker can run. */
  rejected: number;
  /** Jobs in progress given back to the queue when the worker stopped. */
  handedBack: number;
}

/**
 * Default lock of a job, in seconds. The lock is renewed every half of it by this process, whose
 * event loop never trains (the job process does), so it cannot be starved; a dead worker's job is
 * back in the queue within about 4/3 of it (the lock runs out, then the next stall check).
 */
export const DEFAULT_LOCK_SECONDS = 30;
/**
 * Times a job may be abandoned by a vanished worker and still be started again. Two: a job survives
 * two lost machines, and one that kills its worker every time is failed after three starts.
 */
const MAX_STALLED = 2;

/** How long stopping waits for Redis (handing jobs back, closing) before it stops without it. */
const STOP_TIMEOUT_MS = 10_000;

/** `promise`'s value, or `'timed out'` if it takes longer than `ms`. */
export function within<T>(promise: Promise<T>, ms: number): Promise<T | 'timed out'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timed out'>((resolve) => {
    timer = setTimeout(() => resolve('timed out'), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A few processes that run jobs, started ahead (they report the backend) and replaced when one dies. */
class ProcessPool {
  private readonly idle: JobProcess[] = [];
  constructor(private readonly options: JobProcessOptions) {}

  async start(count: number): Promise<string> {
    const started = await Promise.all(Array.from({ length: count }, () => JobProcess.start(this.options)));
    this.idle.push(...started);
    return started[0]?.backend ?? this.options.backend;
  }

  async take(): Promise<JobProcess> {
    return this.idle.pop() ?? (await JobProcess.start(this.options));
  }

  give(proc: JobProcess, healthy: boolean): void {
    if (healthy) this.idle.push(proc);
    else void proc.stop();
  }

  async stop(): Promise<void> {
    await Promise.all(this.idle.splice(0).map((p) => p.stop()));
  }
}

function label(job: StudyJob): string {
  return `job ${job.id.slice(0, 12)} (${job.study}/${job.arm} seed ${job.seed})`;
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Runs a worker on the study queue at `options.queue` until `options.signal` aborts; resolves with
 * what it did. Throws a {@link StudyError} `QUEUE_UNAVAILABLE` within seconds when Redis cannot be
 * reached at start. Each job runs in a child process with the chosen backend; its
 * {@link JobResult} is the BullMQ job's return value. A payload that is not a study job (unknown
 * name, malformed, an id that does not match its content) is logged and failed once; the worker
 * goes on. A job whose input is at fault fails once; other failures are retried by the queue.
 */
export async function runQueueWorker(options: QueueWorkerOptions): Promise<QueueWorkerSummary> {
  const connection = parseQueueUrl(options.queue);
  const log = (line: string) => options.log(connection.scrub(line));
  const concurrency = checkInteger('concurrency', options.concurrency ?? 1, { min: 1 });
  const name = options.name ?? `${hostname()}-${process.pid}`;
  const coresEach = Math.max(1, Math.floor(cpus().length / concurrency));
  const threads = checkInteger('threads', options.threads ?? coresEach, { min: 1 });
  const lockMs = 1000 * checkNumber('lockSeconds', options.lockSeconds ?? DEFAULT_LOCK_SECONDS, { min: 1 });
  const summary: QueueWorkerSummary = { done: 0, failed: 0, rejected: 0, handedBack: 0 };
  if (options.signal?.aborted) return summary;
  await probeQueue(connection);
  const pool = new ProcessPool({ backend: options.backend, threads, worker: name });
  const backend = await pool.start(concurrency);
  const m = machineInfo();
  log(
    `worker ${name} on ${m.hostname} (${m.cpus} × ${m.cpuModel}, ${m.memoryGiB} GiB, ${m.platform}, node ${m.node}): ` +
      `backend ${backend}, ${plural(concurrency, 'job')} at a time, queue ${connection.redacted}`,
  );

  const reject = async (job: Job, reason: string): Promise<never> => {
    summary.rejected += 1;
    log(`job ${job.id ?? '?'}: rejected: ${reason}`);
    const error: JobFailure = { code: 'JOB_INVALID', message: reason, kind: 'input' };
    await job.updateProgress({ error } satisfies FailedAttempt);
    throw new UnrecoverableError(reason);
  };

  const stopping = () => options.signal?.aborted === true;
  // Gives a job back to the queue for another worker, at once (no lock to wait out).
  const handBack = async (job: Job, parsed: StudyJob, token: string | undefined): Promise<never> => {
    // With Redis away this would wait for it forever; the job's lock then runs out instead.
    const moved = token === undefined ? 'timed out' : await within(job.moveToWait(token), STOP_TIMEOUT_MS);
    if (moved === 'timed out') {
      log(
        `${label(parsed)}: not handed back (no answer from the queue); another worker takes it when its lock runs out`,
      );
    } else {
      summary.handedBack += 1;
      log(`${label(parsed)}: handed back to the queue (worker stopping)`);
    }
    throw new WaitingError();
  };

  const runOne = async (job: Job, token: string | undefined, signal: AbortSignal | undefined) => {
    if (job.name !== STUDY_JOB_TYPE)
      return reject(job, `unknown job name '${job.name}'; this worker runs '${STUDY_JOB_TYPE}' only`);
    let parsed: StudyJob;
    try {
      parsed = parseJob(job.data);
    } catch (e) {
      return reject(job, message(e));
    }
    if (parsed.id !== job.id) return reject(job, `queued as ${job.id} but its payload is job ${parsed.id}`);
    // Taken just as the worker stops: not started at all.
    if (stopping()) return handBack(job, parsed, token);
    const tries = job.opts.attempts ?? 1;
    log(`${label(parsed)}: started, attempt ${job.attemptsMade + 1} of ${tries}`);
    const proc = await pool.take();
    const stop = () => void proc.stop();
    signal?.addEventListener('abort', stop, { once: true });
    let result: JobResult;
    try {
      result = await proc.run(parsed);
    } catch (e) {
      pool.give(proc, false);
      if (signal?.aborted || stopping()) return handBack(job, parsed, token);
      summary.failed += 1;
      log(`${label(parsed)}: failed: the job process died: ${message(e)}`);
      throw e;
    } finally {
      signal?.removeEventListener('abort', stop);
    }
    pool.give(proc, true);
    if (result.status === 'done') {
      summary.done += 1;
      log(
        `${label(parsed)}: done in ${result.wallSeconds} s, test accuracy ${result.testAccuracy?.toFixed(4)}`,
      );
      return result;
    }
    summary.failed += 1;
    const error = result.error ?? { code: 'STUDY_FAILED', message: 'no reason given', kind: 'failure' };
    const input = error.kind === 'input';
    const retried = !input && job.attemptsMade + 1 < tries;
    log(
      `${label(parsed)}: failed (${error.code}): ${error.message}; ${input ? 'not retried (its input is at fault)' : retried ? 'to be retried' : 'no tries left'}`,
    );
    await job.updateProgress({ result } satisfies FailedAttempt);
    throw input ? new UnrecoverableError(error.message) : new Error(error.message);
  };

  // Jobs taken and not yet recorded in Redis (completed, failed or handed back): stopping waits
  // for them, and then closes without BullMQ's own wait, which hangs while Redis is away.
  const inFlight = new Map<string, { recorded: Promise<void>; settle: () => void }>();
  const settle = (id: string | undefined) => {
    if (id !== undefined) inFlight.get(id)?.settle();
  };
  // Three parameters: BullMQ passes the abort signal to a processor that declares it.
  const processJob = async (job: Job, token: string | undefined, signal: AbortSignal | undefined) => {
    const id = job.id ?? '';
    let resolve = () => {};
    const recorded = new Promise<void>((r) => {
      resolve = r;
    });
    inFlight.set(id, {
      recorded,
      settle: () => {
        inFlight.delete(id);
        resolve();
      },
    });
    try {
      return await runOne(job, token, signal);
    } catch (e) {
      if (e instanceof WaitingError) settle(id);
      throw e;
    }
  };

  let worker: Worker;
  try {
    worker = new Worker(STUDY_QUEUE_NAME, processJob, {
      connection: connection.options,
      name,
      concurrency,
      lockDuration: lockMs,
      stalledInterval: Math.max(1000, Math.round(lockMs / 3)),
      maxStalledCount: MAX_STALLED,
      autorun: false,
    });
  } catch (e) {
    await pool.stop();
    throw e;
  }
  worker.on('error', (e) => {
    // BullMQ reports a job's failure here too when it cannot record it; both are worth a line.
    log(`queue ${connection.redacted}: ${isLenetError(e) ? e.message : message(e)}`);
  });
  worker.on('completed', (job) => settle(job.id));
  worker.on('failed', (job) => settle(job?.id));
  const stopped = new Promise<void>((resolve) => {
    const stop = () => {
      log('stopping: jobs in progress go back to the queue');
      // No more jobs taken (a job taken meanwhile is handed back unstarted), those running stopped.
      void worker.pause(true);
      worker.cancelAllJobs('worker stopping');
      resolve();
    };
    if (options.signal?.aborted) stop();
    else options.signal?.addEventListener('abort', stop, { once: true });
  });
  void worker.run().catch((e: unknown) => log(`worker ${name}: ${message(e)}`));
  await stopped;
  const recorded = async () => {
    while (inFlight.size > 0) await Promise.all([...inFlight.values()].map((f) => f.recorded));
  };
  if ((await within(recorded(), STOP_TIMEOUT_MS)) === 'timed out')
    log(`queue ${connection.redacted} does not answer: stopping without it`);
  await within(worker.close(true), STOP_TIMEOUT_MS);
  await pool.stop();
  log(
    `worker ${name} stopped: ${summary.done} done, ${summary.failed} failed, ${summary.rejected} rejected, ${summary.handedBack} handed back`,
  );
  return summary;
}
