// The coordinator in this process against a real redis-server, with BullMQ workers written here
// standing in for bad or failing workers (no training: these are about what the coordinator does
// with what comes back).

import { type RedisServer, redisAvailable, startRedis } from '@lenet/testing';
import { Queue, Worker } from 'bullmq';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { StudyError } from '../errors.js';
import { tinyJobs } from '../testing/jobs.js';
import type { JobResult, ResultStore } from '../types.js';
import { parseQueueUrl, STUDY_QUEUE_NAME } from './connection.js';
import { runJobsOnQueue } from './coordinator.js';

const available = redisAvailable('packages/study/src/queue/coordinator.test.ts');

function memoryStore(initial: JobResult[] = []): ResultStore & { puts: JobResult[] } {
  const results = new Map(initial.map((r) => [r.id, r]));
  const puts: JobResult[] = [];
  return {
    puts,
    get: async (id) => results.get(id),
    put: async (r) => {
      puts.push(r);
      results.set(r.id, r);
    },
  };
}

function fakeResult(job: { id: string; study: string; arm: string; seed: number }): JobResult {
  return {
    id: job.id,
    study: job.study,
    arm: job.arm,
    seed: job.seed,
    status: 'done',
    history: [],
    testAccuracy: 0.5,
    testLoss: 1.5,
    wallSeconds: 1,
    machine: { hostname: 'h', platform: 'p', cpuModel: 'c', cpus: 1, memoryGiB: 1, node: 'v20' },
    backend: 'cpu',
    worker: 'stored',
    finishedAt: '2026-01-01T00:00:00.000Z',
  };
}

describe.skipIf(!available)('runJobsOnQueue', () => {
  let redis: RedisServer;
  let queue: Queue;
  const workers: Worker[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    queue = new Queue(STUDY_QUEUE_NAME, { connection: parseQueueUrl(redis.url).options });
  });
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.close()));
    await queue.obliterate({ force: true });
  });
  afterAll(async () => {
    await queue?.close();
    await redis?.stop();
  });

  it('returns stored results without reaching the queue at all', async () => {
    const jobs = tinyJobs([1, 2]);
    const store = memoryStore(jobs.map(fakeResult));
    const results = await runJobsOnQueue(jobs, { queue: 'redis://127.0.0.1:1', store });
    expect(results.map((r) => r.worker)).toEqual(['stored', 'stored']);
    expect(store.puts).toEqual([]);
  });

  it('queues each job once under its own id, however often the study is started, and leaves them queued when stopped', async () => {
    const jobs = tinyJobs([1, 2, 3]);
    const [first] = jobs;
    const store = memoryStore(first ? [fakeResult(first)] : []);
    for (let run = 0; run < 2; run++) {
      const controller = new AbortController();
      const lines: string[] = [];
      const running = runJobsOnQueue(jobs, {
        queue: redis.url,
        store,
        signal: controller.signal,
        log: (line) => {
          lines.push(line);
          controller.abort();
        },
      });
      await expect(running).rejects.toThrow(
        new StudyError(
          'JOB_INTERRUPTED',
          `stopped waiting for 2 jobs; they stay queued at ${redis.url}, the workers go on with them, and running the study again collects their results`,
        ),
      );
      expect(lines).toEqual([
        `queue ${redis.url}: ${run === 0 ? '2 jobs queued, 0' : '0 jobs queued, 2'} already queued, 0 finished in Redis, 1 in the store`,
      ]);
    }
    expect(await queue.getJobCounts('wait', 'active', 'completed', 'failed')).toEqual({
      wait: 2,
      active: 0,
      completed: 0,
      failed: 0,
    });
    expect((await queue.getWaiting()).map((j) => j.id).sort()).toEqual(
      jobs
        .slice(1)
        .map((j) => j.id)
        .sort(),
    );
  });

  it('runs a job again whose stored result failed for a reason not in its input, as the local pool does', async () => {
    const [died, bad] = tinyJobs([1, 2]);
    if (!died || !bad) throw new Error('no jobs');
    const failed = (job: typeof died, kind: 'input' | 'failure'): JobResult => ({
      ...fakeResult(job),
      status: 'failed',
      error: { code: kind === 'input' ? 'DATASET_INVALID' : 'STUDY_FAILED', message: 'x', kind },
      testAccuracy: undefined,
      testLoss: undefined,
    });
    const store = memoryStore([failed(died, 'failure'), failed(bad, 'input')]);
    // The earlier attempt is still in Redis as a failed BullMQ job: it is retried, not collected.
    const connection = parseQueueUrl(redis.url).options;
    const failing = new Worker(
      STUDY_QUEUE_NAME,
      async () => {
        throw new Error('job process exited (SIGKILL)');
      },
      { connection },
    );
    const failedOnce = new Promise((resolve) => failing.once('failed', resolve));
    await queue.add('lenet.study.train', died, { jobId: died.id });
    await failedOnce;
    await failing.close();
    expect(await (await queue.getJob(died.id))?.getState()).toBe('failed');
    workers.push(new Worker(STUDY_QUEUE_NAME, async () => fakeResult(died), { connection }));
    const results = await runJobsOnQueue([died, bad], { queue: redis.url, store });
    expect(results.map((r) => `${r.status}/${r.worker}`)).toEqual(['done/stored', 'failed/stored']);
    expect(store.puts.map((r) => r.id)).toEqual([died.id]);
  });

  it("turns a worker's odd return value and a job out of attempts into failed results with the reason", async () => {
    const [odd, failing] = tinyJobs([1, 2]);
    if (!odd || !failing) throw new Error('no jobs');
    const connection = parseQueueUrl(redis.url).options;
    workers.push(
      new Worker(
        STUDY_QUEUE_NAME,
        async (job) => {
          if (job.id === odd.id) return { ...fakeResult(odd), seed: 7 };
          throw new Error('out of memory');
        },
        { connection },
      ),
    );
    const store = memoryStore();
    const seen: string[] = [];
    const results = await runJobsOnQueue([odd, failing], {
      queue: redis.url,
      store,
      attempts: 2,
      onResult: (r, done, total) => seen.push(`${r.id} ${r.status} ${done}/${total}`),
    });
    expect(results.map((r) => [r.status, r.error?.code, r.error?.kind, r.error?.message])).toEqual([
      [
        'failed',
        'STUDY_FAILED',
        'failure',
        "the worker's result is not a job result: seed 7 differs from the job's 1",
      ],
      ['failed', 'STUDY_FAILED', 'failure', 'failed after 2 attempts: out of memory'],
    ]);
    expect(store.puts.map((r) => r.id).sort()).toEqual([odd.id, failing.id].sort());
    expect(seen.map((s) => s.split(' ').slice(1).join(' '))).toEqual(['failed 1/2', 'failed 2/2']);
  });
});
