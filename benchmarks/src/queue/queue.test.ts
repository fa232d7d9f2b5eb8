// `pnpm bench --queue` for real: a password-protected redis-server, bench workers as processes of
// the built harness (each with its own --backends), the coordinator as a process; the smallest plan
// (lenet5, batch 64, inference, quick profile) so that a job measures in a few seconds.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseQueueUrl } from '@lenet/study';
import { Proc, type RedisServer, redisAvailable, startRedis } from '@lenet/testing';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planFromLists } from '../args.js';
import { readResults } from '../results-file.js';
import { BENCH_JOB_TYPE, type BenchJob, benchJobId, benchQueueName, splitPlan } from './job.js';

const available = redisAvailable('benchmarks/src/queue/queue.test.ts');
const SECRET = 'b3nch-s3cret';
const MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url));
const CHILD = fileURLToPath(new URL('../../dist/queue/child.js', import.meta.url));
const SMALL = ['--models', 'lenet5', '--batch-sizes', '64', '--tasks', 'infer'];

function startWorker(url: string, name: string, backends: string, extra: string[] = []): Proc {
  return new Proc([MAIN, 'worker', '--queue', url, '--backends', backends, '--name', name, ...extra]);
}

/** Every file under `dir`, read as text. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => readFileSync(join(e.parentPath, e.name), 'utf8'));
}

describe.skipIf(!available)('pnpm bench --queue with bench workers', () => {
  let redis: RedisServer;
  let dir: string;
  let wasm: Proc;
  let ort: Proc;
  const queues: Queue[] = [];
  const queue = (backend: Parameters<typeof benchQueueName>[0]) => {
    const q = new Queue(benchQueueName(backend), { connection: parseQueueUrl(redis.url).options });
    queues.push(q);
    return q;
  };

  beforeAll(async () => {
    for (const f of [MAIN, CHILD]) {
      if (!existsSync(f))
        throw new Error(`${f} is missing: build first (pnpm turbo run build --filter=@lenet/benchmarks...)`);
    }
    redis = await startRedis({ password: SECRET });
    dir = mkdtempSync(join(tmpdir(), 'bench-queue-'));
    wasm = startWorker(redis.url, 'w-wasm', 'wasm');
    ort = startWorker(redis.url, 'w-ort', 'ort-cpu');
    await Promise.all([
      wasm.waitFor(/bench worker w-wasm on .*: backends wasm;/),
      ort.waitFor(/bench worker w-ort on .*: backends ort-cpu;/),
    ]);
  });
  afterAll(async () => {
    await Promise.all(queues.map((q) => q.close()));
    await Promise.all([wasm?.stop(), ort?.stop()]);
    await redis?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('rejects malformed payloads with a logged reason, once, and the worker stays up', async () => {
    const [valid] = splitPlan(
      planFromLists({ models: ['lenet5'], backends: ['wasm'], tasks: ['infer'] }),
      'hand',
    ) as [BenchJob];
    const [forOrt] = splitPlan(
      planFromLists({ models: ['lenet5'], backends: ['ort-cpu'], tasks: ['infer'] }),
      'hand',
    ) as [BenchJob];
    const rehashed = (job: BenchJob) => ({ data: job, id: benchJobId(job) });
    const badModel = rehashed({ ...valid, plan: { ...valid.plan, models: ['lenet7'] } });
    const badBatch = rehashed({ ...valid, plan: { ...valid.plan, batchSizes: [0] } });
    const cases: { name: string; data: unknown; id: string; reason: RegExp }[] = [
      { name: BENCH_JOB_TYPE, data: 'not json {', id: 'not-json', reason: /invalid bench job: not JSON/ },
      {
        name: 'mine.crypto',
        data: valid,
        id: 'unknown-name',
        reason: /unknown job name 'mine\.crypto'; this worker runs 'lenet\.bench\.cells' only/,
      },
      { name: BENCH_JOB_TYPE, data: 42, id: 'a-number', reason: /expected an object, got 42/ },
      { name: BENCH_JOB_TYPE, ...badModel, reason: /plan\.models: unknown model 'lenet7'/ },
      { name: BENCH_JOB_TYPE, ...badBatch, reason: /plan\.batchSizes: '0' is not a batch size/ },
      {
        name: BENCH_JOB_TYPE,
        ...rehashed(forOrt),
        reason: /a job for backend ort-cpu on the queue of backend wasm/,
      },
      {
        name: BENCH_JOB_TYPE,
        data: valid,
        id: 'wrong-id',
        reason: new RegExp(`queued as wrong-id but its payload is job ${benchJobId(valid)}`),
      },
    ];
    const q = queue('wasm');
    for (const c of cases) await q.add(c.name, c.data, { jobId: c.id, attempts: 3 });
    for (const c of cases) {
      const line = await wasm.waitFor(new RegExp(`job ${c.id}: rejected: `), 30_000);
      expect(line).toMatch(c.reason);
      await expect.poll(async () => (await q.getJob(c.id))?.getState()).toBe('failed');
      const failed = await q.getJob(c.id);
      // Failed once although three attempts were allowed: retrying cannot mend a payload.
      expect(failed?.attemptsMade, c.id).toBe(1);
      expect(failed?.failedReason).toMatch(c.reason);
    }
    expect(wasm.alive).toBe(true);
    expect(wasm.matching(/: started/)).toEqual([]);
  });

  it('runs each backend on a worker that has it, reports a backend without one, and resumes by run id', async () => {
    const out = join(dir, 'run');
    const args = [MAIN, '--queue', redis.url, ...SMALL, '--run-id', 'run-1', '--out', out];
    const coordinator = new Proc([...args, '--backends', 'wasm,cpu,ort-cpu', '--wait-seconds', '6']);
    const exit = await coordinator.exited;
    expect(exit.code, coordinator.text()).toBe(0);
    expect(coordinator.text()).toContain('Ran 2 jobs of 3 on 1 machine:');
    expect(coordinator.text()).toContain("No worker for backend cpu (see the report's notes)");
    expect(coordinator.text()).toMatch(/no worker for backend cpu within \d+ s; withdrawn from the queue/);

    // Each worker ran exactly its backend's job, and nothing else.
    const [wasmJob, cpuJob, ortJob] = splitPlan(
      planFromLists({
        models: ['lenet5'],
        backends: ['wasm', 'cpu', 'ort-cpu'],
        batchSizes: ['64'],
        tasks: ['infer'],
      }),
      'run-1',
    ) as [BenchJob, BenchJob, BenchJob];
    expect(wasm.matching(/: started/)).toEqual([
      expect.stringContaining(`job ${benchJobId(wasmJob)} (wasm, run run-1): started, attempt 1 of 2`),
    ]);
    expect(ort.matching(/: started/)).toEqual([
      expect.stringContaining(`job ${benchJobId(ortJob)} (ort-cpu, run run-1): started, attempt 1 of 2`),
    ]);
    // The job no worker took is not left behind on its queue.
    expect(await queue('cpu').getJob(benchJobId(cpuJob))).toBeUndefined();

    // Both machines' figures (here one machine: both workers run on it) in one results file...
    const files = readdirSync(out).sort();
    expect(files).toHaveLength(2);
    expect(files).toContain('results.md');
    const machine = await readResults(join(out, files.find((f) => f !== 'results.md') as string));
    expect(machine.options.backends).toEqual(['wasm', 'ort-cpu']);
    expect(machine.cells.map((c) => [c.id, c.status])).toEqual([
      ['infer/lenet5/wasm/b64', 'ok'],
      ['infer/lenet5/ort-cpu/b64', 'ok'],
    ]);
    // ...and in the merged report, with who ran what and the backend that had no worker.
    const md = readFileSync(join(out, 'results.md'), 'utf8');
    expect(md).toMatch(/\| lenet5 \| 64 \| [\d,]+ ±\d+% \| [\d,]+ ±\d+% \|/);
    expect(md).toMatch(/\| infer \| lenet5 \| wasm \| 64 \| [\d,]+ ±\d+% \|/);
    expect(md).toMatch(/\| infer \| lenet5 \| ort-cpu \| 64 \| [\d,]+ ±\d+% \|/);
    expect(md).toContain(`- wasm: job ${benchJobId(wasmJob)} ran on worker w-wasm`);
    expect(md).toContain(`- ort-cpu: job ${benchJobId(ortJob)} ran on worker w-ort`);
    expect(md).toMatch(/- no worker for backend cpu: no worker took its job within \d+ s/);

    // The same command with the same run id: the finished jobs are collected, not measured again.
    const again = new Proc([...args, '--backends', 'wasm,ort-cpu']);
    expect((await again.exited).code, again.text()).toBe(0);
    expect(again.text()).toContain(
      '2 jobs (wasm, ort-cpu): 0 queued, 0 failed before and queued again, 0 already queued or running, 2 finished before',
    );
    expect(wasm.matching(/: started/)).toHaveLength(1);
    expect(ort.matching(/: started/)).toHaveLength(1);
    expect(readFileSync(join(out, 'results.md'), 'utf8')).toContain(
      'so it was collected, not measured again',
    );

    // The password: in no log line and no file written; the URL shows redacted.
    for (const text of [wasm.text(), ort.text(), coordinator.text(), again.text(), ...filesUnder(out)]) {
      expect(text).not.toContain(SECRET);
    }
    expect(wasm.text()).toContain(`queue redis://:***@127.0.0.1:${redis.port}`);
    expect(coordinator.text()).toContain(`queue redis://:***@127.0.0.1:${redis.port}`);
  });

  it('hands a job back on SIGTERM, gives the job of a killed worker to another (stalled jobs)', async () => {
    // Only the three short-lock workers below serve wasm now.
    wasm.kill('SIGTERM');
    expect((await wasm.exited).code).toBe(0);
    expect(wasm.text()).toMatch(/bench worker w-wasm stopped: 1 done, 0 failed, 7 rejected, 0 handed back/);
    const fast = ['--lock-seconds', '2'];
    const workers = ['w-a', 'w-b', 'w-c'].map((name) => ({
      name,
      proc: startWorker(redis.url, name, 'wasm', fast),
    }));
    try {
      await Promise.all(workers.map((w) => w.proc.waitFor(new RegExp(`bench worker ${w.name} on `))));
      const out = join(dir, 'stalled');
      const coordinator = new Proc([
        MAIN,
        '--queue',
        redis.url,
        ...SMALL,
        '--backends',
        'wasm',
        '--run-id',
        'run-2',
        '--out',
        out,
      ]);
      const started = /\(wasm, run run-2\): started/;
      const nextTaker = (among: typeof workers) =>
        Promise.race(among.map((w) => w.proc.waitFor(started, 60_000).then(() => w)));
      // SIGTERM: the job goes back to the queue at once, and the worker exits 0.
      const first = await nextTaker(workers);
      first.proc.kill('SIGTERM');
      expect((await first.proc.exited).code).toBe(0);
      expect(first.proc.text()).toMatch(/\(wasm, run run-2\): handed back to the queue \(worker stopping\)/);
      expect(first.proc.text()).toMatch(/stopped: 0 done, 0 failed, 0 rejected, 1 handed back/);
      // SIGKILL: no hand-back; the lock runs out and another worker takes the job over.
      const rest = workers.filter((w) => w !== first);
      const second = await nextTaker(rest);
      second.proc.kill('SIGKILL');
      const third = rest.find((w) => w !== second) as (typeof workers)[number];
      expect((await coordinator.exited).code, coordinator.text()).toBe(0);
      expect(third.proc.matching(started)).toHaveLength(1);
      const md = readFileSync(join(out, 'results.md'), 'utf8');
      expect(md).toContain(`ran on worker ${third.name}`);
      expect(md).toMatch(/\| infer \| lenet5 \| wasm \| 64 \| [\d,]+ ±\d+% \|/);
      third.proc.kill('SIGINT');
      expect((await third.proc.exited).code).toBe(0);
      expect(third.proc.text()).toMatch(/stopped: 1 done, 0 failed, 0 rejected, 0 handed back/);
    } finally {
      await Promise.all(workers.map((w) => w.proc.stop()));
    }
  });
});
