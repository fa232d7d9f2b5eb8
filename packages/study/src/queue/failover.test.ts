// A study through a real redis-server and real `lenet worker` processes, with a worker and then the
// coordinator SIGKILLed mid-study.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type Proc,
  type RedisServer,
  redisAvailable,
  requireBuilt,
  startRedis,
  startWorker,
} from '@lenet/testing';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { JobProcess } from '../job-process.js';
import { tinyJobs } from '../testing/jobs.js';
import { startCoordinator } from '../testing/processes.js';
import type { JobResult, StudyJob } from '../types.js';

const available = redisAvailable('packages/study/src/queue/failover.test.ts');

/** The results a coordinator printed at its end. */
function printedResults(coordinator: Proc): JobResult[] {
  const line = coordinator.lines.find((l) => l.startsWith('results '));
  if (line === undefined) throw new Error(`the coordinator printed no results:\n${coordinator.text()}`);
  return JSON.parse(line.slice('results '.length)) as JobResult[];
}

function storedResults(dir: string): Map<string, JobResult> {
  return new Map(
    readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .map((f) => {
        const r = JSON.parse(readFileSync(join(dir, f), 'utf8')) as JobResult;
        return [r.id, r];
      }),
  );
}

/** The short id the workers' log lines name a job by. */
function shortId(job: { id: string }): string {
  return job.id.slice(0, 12);
}

describe.skipIf(!available)('a study on a BullMQ queue', () => {
  let redis: RedisServer;
  let dir: string;
  let procs: Proc[];

  beforeAll(() => requireBuilt());
  beforeEach(async () => {
    redis = await startRedis();
    dir = mkdtempSync(join(tmpdir(), 'lenet-queue-'));
    procs = [];
  });
  afterEach(async () => {
    await Promise.all(procs.map((p) => p.stop()));
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  function writeJobs(jobs: StudyJob[]): string {
    const file = join(dir, 'jobs.json');
    writeFileSync(file, JSON.stringify(jobs));
    return file;
  }

  it('completes when a worker is SIGKILLed mid-job: every job once, with the accuracies of a local run', async () => {
    const jobs = tinyJobs([1, 2, 3, 4]);
    const store = join(dir, 'results');
    // A 5 s lock: the killed worker's job is taken over within about 7 s.
    const a = await startWorker(redis.url, 'worker-a', ['--lock-seconds', '5']);
    const b = await startWorker(redis.url, 'worker-b', ['--lock-seconds', '5']);
    procs.push(a, b);
    const coordinator = startCoordinator(redis.url, writeJobs(jobs), store);
    procs.push(coordinator);

    const started = await a.waitFor(/job \w+ \(.*\): started/);
    a.kill('SIGKILL');
    const killed = /job (\w+)/.exec(started)?.[1];
    const { code } = await coordinator.exited;
    expect(code, coordinator.text()).toBe(0);

    const results = printedResults(coordinator);
    expect(results.map((r) => r.id)).toEqual(jobs.map((j) => j.id));
    expect(results.map((r) => r.status)).toEqual(jobs.map(() => 'done'));
    expect(coordinator.matching(/^result /)).toHaveLength(jobs.length);
    expect([...storedResults(store).keys()].sort()).toEqual(jobs.map((j) => j.id).sort());
    // The killed job was mid-job on worker-a, and finished on worker-b.
    const killedJob = jobs.find((j) => shortId(j) === killed);
    expect(killedJob).toBeDefined();
    expect(a.matching(new RegExp(`job ${killed} .*: done`))).toEqual([]);
    expect(results.find((r) => r.id === killedJob?.id)?.worker).toBe('worker-b');
    expect(b.matching(new RegExp(`job ${killed} .*: done`))).toHaveLength(1);

    // The same jobs one by one in a local job process: the same numbers.
    const local = await JobProcess.start({ backend: 'wasm', threads: 1, worker: 'local' });
    const reference: JobResult[] = [];
    try {
      for (const job of jobs) reference.push(await local.run(job));
    } finally {
      await local.stop();
    }
    expect(results.map((r) => [r.testAccuracy, r.testLoss])).toEqual(
      reference.map((r) => [r.testAccuracy, r.testLoss]),
    );
    expect(results.map((r) => r.backend)).toEqual(jobs.map(() => 'wasm (1 thread)'));
  });

  it('resumes after the coordinator is SIGKILLed halfway, training no finished job again', async () => {
    const jobs = tinyJobs([11, 12, 13, 14]);
    const store = join(dir, 'results');
    const jobsFile = writeJobs(jobs);
    const worker = await startWorker(redis.url, 'worker-r');
    procs.push(worker);
    const first = startCoordinator(redis.url, jobsFile, store);
    procs.push(first);
    await first.waitFor(/^result \w+ done 2\/4$/);
    first.kill('SIGKILL');
    await first.exited;
    const before = storedResults(store);
    expect(before.size).toBeGreaterThanOrEqual(2);
    // One more job finishes while no coordinator runs: it is collected from Redis.
    await worker.waitForCount(/: done in /, before.size + 1);

    const second = startCoordinator(redis.url, jobsFile, store);
    procs.push(second);
    const { code } = await second.exited;
    expect(code, second.text()).toBe(0);
    const results = printedResults(second);
    expect(results.map((r) => r.id)).toEqual(jobs.map((j) => j.id));
    expect(results.map((r) => r.status)).toEqual(jobs.map(() => 'done'));
    // Each job trained exactly once, across both coordinators.
    for (const job of jobs) {
      expect(worker.matching(new RegExp(`job ${shortId(job)} .*: started`)), job.id).toHaveLength(1);
      expect(worker.matching(new RegExp(`job ${shortId(job)} .*: done`)), job.id).toHaveLength(1);
    }
    // The results stored before the kill are the ones returned, untouched.
    for (const [id, stored] of before) expect(results.find((r) => r.id === id)).toEqual(stored);
    const summary = await second.waitFor(/^log queue /);
    expect(summary).toMatch(new RegExp(`${before.size} in the store$`));
    const inRedis = Number(/(\d+) finished in Redis/.exec(summary)?.[1]);
    expect(inRedis).toBeGreaterThanOrEqual(1);
    expect(second.matching(/^result /)).toHaveLength(jobs.length - before.size);
    expect(storedResults(store).size).toBe(jobs.length);
  });

  it('hands its job back to the queue at once when stopped with SIGTERM mid-job', async () => {
    const jobs = tinyJobs([31]);
    const first = await startWorker(redis.url, 'worker-t');
    procs.push(first);
    const coordinator = startCoordinator(redis.url, writeJobs(jobs), join(dir, 'results'));
    procs.push(coordinator);
    await first.waitFor(/: started, attempt 1 of 3/);
    first.kill('SIGTERM');
    expect((await first.exited).code, first.text()).toBe(0);
    expect(first.matching(/: handed back to the queue/)).toHaveLength(1);
    expect(first.text()).toMatch(/worker worker-t stopped: 0 done, 0 failed, 0 rejected, 1 handed back/);

    // Taken at once by the next worker (no lock to wait out), and not counted as a failed attempt.
    const second = await startWorker(redis.url, 'worker-u');
    procs.push(second);
    await second.waitFor(/: started, attempt 1 of 3/, 10_000);
    expect((await coordinator.exited).code, coordinator.text()).toBe(0);
    const [result] = printedResults(coordinator);
    expect(result?.status).toBe('done');
    expect(result?.worker).toBe('worker-u');

    // With Redis gone, stopping does not wait for it (BullMQ's own close would, forever).
    await redis.stop();
    const stopping = Date.now();
    second.kill('SIGTERM');
    expect((await second.exited).code, second.text()).toBe(0);
    expect(Date.now() - stopping).toBeLessThan(15_000);
    expect(second.text()).toMatch(/worker worker-u stopped: 1 done, 0 failed, 0 rejected, 0 handed back/);
  });
});
