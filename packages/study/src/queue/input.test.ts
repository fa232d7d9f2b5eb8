// The queue is an input like any other: payloads pushed by hand, a job whose input is at fault, and
// a password-protected Redis whose password must appear in no log line and no stored result.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Proc,
  type RedisServer,
  redisAvailable,
  requireBuilt,
  startRedis,
  startWorker,
} from '@lenet/testing';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobId } from '../job.js';
import { tinyJobs } from '../testing/jobs.js';
import { startCoordinator } from '../testing/processes.js';
import { type JobResult, STUDY_JOB_TYPE, type StudyJob } from '../types.js';
import { parseQueueUrl, STUDY_QUEUE_NAME } from './connection.js';

const available = redisAvailable('packages/study/src/queue/input.test.ts');
const SECRET = 'sup3r-s3cret';
const CLI = new URL('../../../cli/dist/bin.js', import.meta.url).pathname;

/** `job` with `change` applied and its id made to match its new content. */
function rehashed(job: StudyJob, change: Partial<StudyJob>): StudyJob {
  const { id: _old, ...content } = { ...job, ...change };
  return { ...content, id: jobId(content) };
}

describe.skipIf(!available)('the queue as an input', () => {
  let redis: RedisServer;
  let dir: string;

  beforeAll(async () => {
    requireBuilt();
    redis = await startRedis({ password: SECRET });
    dir = mkdtempSync(join(tmpdir(), 'lenet-queue-input-'));
  });
  afterAll(async () => {
    await redis?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('rejects malformed payloads with a logged reason, runs valid jobs after them, and never shows the password', async () => {
    expect(redis.url).toBe(`redis://:${SECRET}@127.0.0.1:${redis.port}`);
    const worker = await startWorker(redis.url, 'worker-i');
    const queue = new Queue(STUDY_QUEUE_NAME, { connection: parseQueueUrl(redis.url).options });
    try {
      const [valid, other] = tinyJobs([21, 22]) as [StudyJob, StudyJob];
      const badSpec = rehashed(other, { spec: { ...other.spec, layers: [{ type: 'warp-drive' }] } as never });
      const cases: { name: string; data: unknown; id: string; reason: RegExp }[] = [
        { name: STUDY_JOB_TYPE, data: 'not json {', id: 'not-json', reason: /invalid study job: not JSON/ },
        { name: STUDY_JOB_TYPE, data: 42, id: 'a-number', reason: /expected an object, got number/ },
        { name: 'mine.crypto', data: valid, id: 'unknown-name', reason: /unknown job name 'mine\.crypto'/ },
        {
          name: STUDY_JOB_TYPE,
          data: { ...valid, type: 'lenet.other' },
          id: 'unknown-type',
          reason: /unknown job type "lenet\.other"; this worker runs 'lenet\.study\.train' only/,
        },
        {
          name: STUDY_JOB_TYPE,
          data: { ...valid, seed: 99, recipe: { ...valid.recipe, seed: 99 } },
          id: 'wrong-id',
          reason: new RegExp(`id ${valid.id} does not match its content`),
        },
        { name: STUDY_JOB_TYPE, data: badSpec, id: badSpec.id, reason: /spec.*warp-drive/ },
        {
          name: STUDY_JOB_TYPE,
          data: valid,
          id: 'another-id',
          reason: new RegExp(`queued as another-id but its payload is job ${valid.id}`),
        },
      ];
      for (const c of cases) await queue.add(c.name, c.data, { jobId: c.id, attempts: 3 });
      for (const c of cases) {
        const line = await worker.waitFor(new RegExp(`job ${c.id}: rejected: `), 30_000);
        expect(line).toMatch(c.reason);
        const job = await queue.getJob(c.id);
        await expect.poll(() => job?.getState()).toBe('failed');
        const failed = await queue.getJob(c.id);
        // Failed once although three attempts were allowed: retrying cannot mend a payload.
        expect(failed?.attemptsMade, c.id).toBe(1);
        expect(failed?.failedReason).toMatch(c.reason);
      }
      expect(worker.alive).toBe(true);

      // Then a coordinator's jobs: a valid one, and one whose data is missing (its input's fault).
      const missingData = rehashed(other, { data: { dataset: 'cifar10', dir: join(dir, 'no-cifar') } });
      const jobsFile = join(dir, 'jobs.json');
      writeFileSync(jobsFile, JSON.stringify([valid, missingData]));
      const store = join(dir, 'results');
      const coordinator = startCoordinator(redis.url, jobsFile, store);
      expect((await coordinator.exited).code, coordinator.text()).toBe(0);
      const line = coordinator.lines.find((l) => l.startsWith('results ')) ?? '';
      const [done, failed] = JSON.parse(line.slice('results '.length)) as JobResult[];
      expect(done?.status).toBe('done');
      expect(done?.worker).toBe('worker-i');
      expect(failed?.status).toBe('failed');
      expect(failed?.error?.code).toBe('DATASET_INVALID');
      expect(failed?.error?.kind).toBe('input');
      expect(failed?.error?.message).toMatch(/no-cifar.*missing/);
      expect(failed?.machine.hostname).toBe(hostname());
      expect(failed?.worker).toBe('worker-i');
      const short = missingData.id.slice(0, 12);
      expect(worker.matching(new RegExp(`job ${short} .*: started`))).toHaveLength(1);
      expect(
        worker.matching(new RegExp(`job ${short} .*: failed \\(DATASET_INVALID\\).*not retried`)),
      ).toHaveLength(1);

      // The password: in no log line, no printed or stored result; the URL shows as redacted.
      const stored = readdirSync(store).map((f) => readFileSync(join(store, f), 'utf8'));
      expect(stored).toHaveLength(2);
      for (const text of [worker.text(), coordinator.text(), ...stored]) expect(text).not.toContain(SECRET);
      expect(worker.text()).toContain(`queue redis://:***@127.0.0.1:${redis.port}`);
      expect(coordinator.text()).toContain(`queue redis://:***@127.0.0.1:${redis.port}`);

      worker.kill('SIGINT');
      expect((await worker.exited).code).toBe(0);
      expect(worker.text()).toMatch(/worker worker-i stopped: 1 done, 1 failed, 7 rejected, 0 handed back/);
    } finally {
      await queue.close();
      await worker.stop();
    }
  });

  it('fails within seconds, naming the redacted URL, when Redis refuses the password or is not there', async () => {
    const wrong = `redis://:wrong-${SECRET}@127.0.0.1:${redis.port}`;
    // The bound below scales with how long this machine takes to start the command line right
    // now: a loaded machine (parallel test files, a benchmark) slows start-up, not the failure.
    const probeStarted = Date.now();
    expect((await new Proc([CLI, '--version']).exited).code).toBe(0);
    const startup = Date.now() - probeStarted;
    const started = Date.now();
    const worker = new Proc([CLI, 'worker', '--queue', wrong, '--backend', 'wasm']);
    expect((await worker.exited).code).toBe(1);
    expect(worker.text()).toContain(
      `lenet: cannot reach the queue at redis://:***@127.0.0.1:${redis.port}: WRONGPASS`,
    );
    expect(worker.text()).not.toContain(SECRET);

    const jobsFile = join(dir, 'one-job.json');
    writeFileSync(jobsFile, JSON.stringify(tinyJobs([41])));
    const nobody = `redis://user:${SECRET}@127.0.0.1:1/3`;
    const coordinator = startCoordinator(nobody, jobsFile, join(dir, 'unused'));
    expect((await coordinator.exited).code).toBe(1);
    expect(coordinator.text()).toBe(
      'error QUEUE_UNAVAILABLE cannot reach the queue at redis://user:***@127.0.0.1:1/3: connect ECONNREFUSED 127.0.0.1:1',
    );
    // Both processes, start-up included, well within the 5 s connect timeout each (not retrying).
    expect(Date.now() - started).toBeLessThan(15_000 + 4 * startup);

    const bad = new Proc([CLI, 'worker', '--queue', `http://me:${SECRET}@example.com`]);
    expect((await bad.exited).code).toBe(2);
    expect(bad.text()).toBe(
      "lenet: invalid queue URL http://me:***@example.com/: unsupported scheme 'http'; expected redis://[user:password@]host[:port][/db] or rediss://… for TLS",
    );
  });
});
