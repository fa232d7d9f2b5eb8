// Trains for real (tiny budgets, wasm with one kernel thread per process, so every process computes
// the same numbers for a seed). Needs the built package: the job processes run dist/job-child.js
// (pnpm turbo run build --filter=@lenet/study...).
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tinyStudy } from '@lenet/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateStudy } from './definition.js';
import { JobProcess } from './job-process.js';
import { defaultLocalWorkers, runJobsLocally } from './local.js';
import { planJobs } from './plan.js';
import { openResultStore } from './store.js';
import type { JobResult, StudyJob } from './types.js';

const study = validateStudy(tinyStudy({ name: 'local-pool-test' }));

const BACKEND = { backend: 'wasm', threads: 1 } as const;

/** What must be equal between two runs of a job (not where or when it ran). */
const figures = (r: JobResult) => ({
  id: r.id,
  arm: r.arm,
  seed: r.seed,
  status: r.status,
  testAccuracy: r.testAccuracy,
  testLoss: r.testLoss,
  history: r.history.map(({ seconds: _s, ...e }) => e),
});

let jobs: StudyJob[];
let reference: JobResult[];
let dir: string;

beforeAll(async () => {
  jobs = await planJobs(study);
  dir = await mkdtemp(join(tmpdir(), 'lenet-local-'));
  // The same jobs one after another in a single job process.
  const proc = await JobProcess.start({ ...BACKEND, worker: 'reference' });
  try {
    reference = [];
    for (const job of jobs) reference.push(await proc.run(job));
  } finally {
    await proc.stop();
  }
}, 120_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('runJobsLocally', () => {
  it('runs every job exactly once in 2 processes, storing each, with the numbers of a single process', async () => {
    expect(reference.map((r) => r.status)).toEqual(['done', 'done', 'done', 'done']);
    const store = openResultStore(join(dir, 'pool'));
    const told: [string, number, number][] = [];
    const results = await runJobsLocally(jobs, {
      ...BACKEND,
      workers: 2,
      store,
      onResult: (r, done, total) => told.push([r.id, done, total]),
    });
    expect(results.map((r) => r.id)).toEqual(jobs.map((j) => j.id));
    expect(results.map(figures)).toEqual(reference.map(figures));
    expect(told.map(([, done, total]) => [done, total])).toEqual([
      [1, 4],
      [2, 4],
      [3, 4],
      [4, 4],
    ]);
    expect(told.map(([id]) => id).sort()).toEqual(jobs.map((j) => j.id).sort());
    expect(new Set(results.map((r) => r.worker))).toEqual(new Set(['local-1', 'local-2']));
    expect(results.every((r) => r.backend === 'wasm (1 thread)')).toBe(true);
    expect((await readdir(join(dir, 'pool', 'jobs'))).sort()).toEqual(jobs.map((j) => `${j.id}.json`).sort());
    for (const r of results) expect(await store.get(r.id)).toEqual(r);
  }, 120_000);

  it('resumes: with half the results stored only the other half is trained', async () => {
    const store = openResultStore(join(dir, 'resume'));
    await store.put(reference[0]);
    await store.put(reference[3]);
    const trained: string[] = [];
    const counts: string[] = [];
    const results = await runJobsLocally([...jobs, jobs[1]], {
      ...BACKEND,
      workers: 2,
      store,
      onResult: (r, done, total) => {
        trained.push(`${r.arm}/${r.seed}`);
        counts.push(`${done}/${total}`);
      },
    });
    expect(trained.sort()).toEqual(['lenet5/1', 'mlp/0']);
    expect(counts).toEqual(['3/4', '4/4']);
    expect(results[0]).toEqual(reference[0]);
    expect(results[3]).toEqual(reference[3]);
    expect(results.map(figures)).toEqual([...reference, reference[1]].map(figures));
    // Run again: everything is stored, nothing trains.
    const again: string[] = [];
    await runJobsLocally(jobs, { ...BACKEND, workers: 2, store, onResult: (r) => again.push(r.id) });
    expect(again).toEqual([]);
  }, 120_000);

  it('takes no job once stopped, and says how far it got', async () => {
    const store = openResultStore(join(dir, 'stopped'));
    const controller = new AbortController();
    controller.abort();
    await expect(
      runJobsLocally(jobs, { ...BACKEND, workers: 2, store, signal: controller.signal }),
    ).rejects.toThrow('stopped after 0 of 4 jobs (the results so far are stored: run again to resume)');
    await expect(readdir(join(dir, 'stopped', 'jobs'))).rejects.toThrow(/ENOENT/);
  }, 60_000);

  it('fails with the reason when a job process cannot start', async () => {
    await expect(
      runJobsLocally(jobs, {
        backend: 'tensorflow-gpu',
        workers: 1,
        store: openResultStore(join(dir, 'nogpu')),
      }),
    ).rejects.toThrow(/job process could not start: .*tensorflow-gpu/);
  }, 60_000);

  it('defaults to one process per core', () => {
    expect(defaultLocalWorkers(2)).toBe(2);
    expect(defaultLocalWorkers(1)).toBe(1);
  });
});
