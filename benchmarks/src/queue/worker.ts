// A bench worker: takes benchmark jobs from the queues of the backends this machine has, one job at
// a time (a benchmark needs the machine to itself), runs each in a fresh job process and returns
// its results file. Jobs are fetched by hand from several queues, so the lock of the one running
// job is renewed here, and each queue's stalled-job check runs here too (BullMQ's manual mode).
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { machineInfo, parseQueueUrl, probeQueue, within } from '@lenet/study';
import { type Job, UnrecoverableError, Worker } from 'bullmq';
import { DEFAULT_BENCH_LOCK_SECONDS } from '../args.js';
import { errorMessage } from '../run/context.js';
import { ALL_BACKENDS, type BenchBackend, type BenchResult } from '../types.js';
import { BENCH_JOB_TYPE, type BenchJob, benchJobId, benchQueueName, parseBenchJob } from './job.js';
import { ChildStopped, inChild } from './job-process.js';
import { pause } from './wait.js';

/** Options of {@link runBenchWorker}. */
export interface BenchWorkerOptions {
  /** `redis://[user:password@]host[:port][/db]`, or `rediss://…` for TLS. */
  queue: string;
  /** The backends to take jobs for (each must work here). Default: every backend that works here. */
  backends?: readonly BenchBackend[];
  /** This worker in logs and in the coordinator's report. Default `<hostname>-<pid>`. */
  name?: string;
  /** How long a job stays locked without a renewal before it counts as stalled. Default 30. */
  lockSeconds?: number;
  /** Where the worker says what it does (one line per call; credentials never appear). */
  log: (line: string) => void;
  /** Stops the worker: a job in progress is stopped and goes back to the queue at once. */
  signal?: AbortSignal;
}

/** What a bench worker did, once stopped. */
export interface BenchWorkerSummary {
  /** Jobs run to a results file. */
  done: number;
  /** Attempts that failed (the job process died or the run threw); the queue retries them. */
  failed: number;
  /** Payloads refused: not a bench job of a backend of this worker. */
  rejected: number;
  /** Jobs in progress given back to the queue when the worker stopped. */
  handedBack: number;
}

/**
 * Times a job may be abandoned by a vanished worker (its lock ran out) and still be started again:
 * a job survives two lost machines, and one that kills its worker every time fails after three.
 */
const MAX_STALLED = 2;
/** How often an idle worker looks at its queues. */
const POLL_MS = 1000;
/** How long stopping waits for Redis (handing a job back, closing) before it stops without it. */
const STOP_TIMEOUT_MS = 10_000;

/** `3 ok, 1 skipped` of a result's cells. */
function cellCounts(r: BenchResult): string {
  const count = (s: string) => r.cells.filter((c) => c.status === s).length;
  const parts = [`${count('ok')} cells measured`];
  if (count('skipped') > 0) parts.push(`${count('skipped')} skipped`);
  if (count('failed') > 0) parts.push(`${count('failed')} failed`);
  if (r.accuracy.length > 0) parts.push(`${r.accuracy.length} accuracy row(s)`);
  return parts.join(', ');
}

/** `lenet5 × b64 × infer` of a job. */
function planText(job: BenchJob): string {
  const p = job.plan;
  return `${p.profile} profile, ${p.models.join(',')}, batch ${p.batchSizes?.join(',') ?? 'profile default'}, ${p.tasks.join(',')}`;
}

/** Finds the backends to serve: all that work here, or the given ones (each must work). */
async function backendsToServe(
  options: BenchWorkerOptions,
  log: (line: string) => void,
): Promise<{ serve: { backend: BenchBackend; how: string }[]; absent: string[] }> {
  const asked = options.backends ?? ALL_BACKENDS;
  const answer = await inChild(
    { kind: 'detect', backends: [...asked] },
    (l) => log(`detect: ${l}`),
    options.signal,
  );
  if (answer.kind !== 'detected') {
    throw new Error(
      `could not detect this machine's backends: ${answer.kind === 'error' ? answer.message : answer.kind}`,
    );
  }
  const serve = answer.found.flatMap((d) => (d.ok ? [{ backend: d.backend, how: d.how }] : []));
  const absent = answer.found.flatMap((d) => (d.ok ? [] : [`${d.backend} (${d.reason})`]));
  if (options.backends && absent.length > 0) {
    throw new Error(`not available on this machine: ${absent.join('; ')}. Leave them out of --backends`);
  }
  if (serve.length === 0) throw new Error(`no backend works on this machine: ${absent.join('; ')}`);
  return { serve, absent };
}

/**
 * Runs a bench worker on the queue at `options.queue` until `options.signal` aborts; resolves with
 * what it did. Throws (within seconds) when Redis cannot be reached or a backend asked for does
 * not work here. Every payload is checked by {@link parseBenchJob} and against the queue it came
 * from; one that fails is logged and failed once, and the worker goes on. A job whose process dies
 * is failed for the queue to retry (a bounded number of times).
 */
export async function runBenchWorker(options: BenchWorkerOptions): Promise<BenchWorkerSummary> {
  const connection = parseQueueUrl(options.queue);
  const log = (line: string) => options.log(connection.scrub(line));
  const name = options.name ?? `${hostname()}-${process.pid}`;
  const lockMs = 1000 * (options.lockSeconds ?? DEFAULT_BENCH_LOCK_SECONDS);
  const summary: BenchWorkerSummary = { done: 0, failed: 0, rejected: 0, handedBack: 0 };
  const stopping = () => options.signal?.aborted === true;
  if (stopping()) return summary;
  await probeQueue(connection);
  const { serve, absent } = await backendsToServe(options, log);
  const m = machineInfo();
  log(
    `bench worker ${name} on ${m.hostname} (${m.cpus} × ${m.cpuModel}, ${m.memoryGiB} GiB, ${m.platform}, node ${m.node}): ` +
      `backends ${serve.map((s) => s.backend).join(', ')}; one job at a time; queue ${connection.redacted}`,
  );
  for (const s of serve) log(`  ${s.backend}: ${s.how}`);
  if (absent.length > 0) log(`  not here: ${absent.join('; ')}`);

  const queues = serve.map(({ backend }) => {
    const worker = new Worker(benchQueueName(backend), null, {
      connection: connection.options,
      name,
      autorun: false,
      lockDuration: lockMs,
      stalledInterval: Math.max(1000, Math.round(lockMs / 3)),
      maxStalledCount: MAX_STALLED,
    });
    worker.on('error', (e) => log(`queue ${connection.redacted} (${backend}): ${errorMessage(e)}`));
    return { backend, worker };
  });

  const reject = async (job: Job, token: string, reason: string): Promise<void> => {
    summary.rejected += 1;
    log(`job ${job.id ?? '?'}: rejected: ${reason}`);
    await job.moveToFailed(new UnrecoverableError(reason), token, false);
  };

  const handBack = async (job: Job, token: string, label: string): Promise<void> => {
    if ((await within(job.moveToWait(token), STOP_TIMEOUT_MS)) === 'timed out') {
      log(
        `${label}: not handed back (no answer from the queue); another worker takes it when its lock runs out`,
      );
    } else {
      summary.handedBack += 1;
      log(`${label}: handed back to the queue (worker stopping)`);
    }
  };

  const runOne = async (backend: BenchBackend, job: Job, token: string): Promise<void> => {
    if (job.name !== BENCH_JOB_TYPE) {
      return reject(job, token, `unknown job name '${job.name}'; this worker runs '${BENCH_JOB_TYPE}' only`);
    }
    let parsed: BenchJob;
    try {
      parsed = parseBenchJob(job.data);
    } catch (e) {
      return reject(job, token, errorMessage(e));
    }
    if (parsed.backend !== backend) {
      return reject(job, token, `a job for backend ${parsed.backend} on the queue of backend ${backend}`);
    }
    const id = benchJobId(parsed);
    if (id !== job.id) return reject(job, token, `queued as ${job.id} but its payload is job ${id}`);
    const label = `job ${id} (${backend}, run ${parsed.runId})`;
    if (stopping()) return handBack(job, token, label);
    log(
      `${label}: started, attempt ${job.attemptsMade + 1} of ${job.opts.attempts ?? 1}: ${planText(parsed)}`,
    );
    const started = Date.now();
    let answer: Awaited<ReturnType<typeof inChild>>;
    try {
      answer = await inChild({ kind: 'run', job: parsed }, (line) => log(`  ${line}`), options.signal);
    } catch (e) {
      if (e instanceof ChildStopped) return handBack(job, token, label);
      answer = { kind: 'error', message: `the job process died: ${errorMessage(e)}` };
    }
    if (answer.kind !== 'result') {
      summary.failed += 1;
      const reason = answer.kind === 'error' ? answer.message : `unexpected answer '${answer.kind}'`;
      const retried = job.attemptsMade + 1 < (job.opts.attempts ?? 1);
      log(`${label}: failed: ${reason}; ${retried ? 'to be retried' : 'no tries left'}`);
      await job.moveToFailed(new Error(reason), token, false);
      return;
    }
    await job.moveToCompleted(answer.result, token, false);
    summary.done += 1;
    log(`${label}: done in ${((Date.now() - started) / 1000).toFixed(1)} s: ${cellCounts(answer.result)}`);
  };

  try {
    // Each queue's stalled check: a job whose worker vanished goes back to waiting (or fails
    // after MAX_STALLED times), so that another worker takes it.
    await Promise.all(queues.map((q) => q.worker.startStalledCheckTimer()));
    while (!stopping()) {
      let taken: { backend: BenchBackend; job: Job; token: string } | undefined;
      for (const { backend, worker } of queues) {
        const token = randomUUID();
        const job = await worker.getNextJob(token, { block: false }).catch((e: unknown) => {
          log(`queue ${connection.redacted} (${backend}): ${errorMessage(e)}`);
          return undefined;
        });
        if (job) {
          taken = { backend, job, token };
          break;
        }
      }
      if (!taken) {
        await pause(POLL_MS, options.signal);
        continue;
      }
      const { backend, job, token } = taken;
      // Renewed by hand: the job was fetched by hand. Half the lock, as BullMQ does.
      const renew = setInterval(() => {
        job
          .extendLock(token, lockMs)
          .catch((e: unknown) => log(`job ${job.id}: lock not renewed: ${errorMessage(e)}`));
      }, lockMs / 2);
      try {
        await runOne(backend, job, token);
      } catch (e) {
        // Recording the outcome failed (Redis away, the lock lost to another worker): the queue
        // decides what happens to the job; this worker goes on.
        log(`job ${job.id}: its outcome could not be recorded: ${errorMessage(e)}`);
      } finally {
        clearInterval(renew);
      }
    }
    log('stopping');
  } finally {
    if (
      (await within(Promise.all(queues.map((q) => q.worker.close(true))), STOP_TIMEOUT_MS)) === 'timed out'
    ) {
      log(`queue ${connection.redacted} does not answer: stopping without it`);
    }
  }
  log(
    `bench worker ${name} stopped: ${summary.done} done, ${summary.failed} failed, ${summary.rejected} rejected, ${summary.handedBack} handed back`,
  );
  return summary;
}
