import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isFinalResult } from './result.js';
import { openResultStore } from './store.js';
import type { JobResult } from './types.js';

const ID = 'a'.repeat(64);
const OTHER = 'b'.repeat(64);

function result(id = ID, over: Partial<JobResult> = {}): JobResult {
  return {
    id,
    study: 's',
    arm: 'bn',
    seed: 2,
    status: 'done',
    history: [{ epoch: 1, loss: 0.5, accuracy: 0.9, seconds: 3.5 }],
    testAccuracy: 0.91,
    testLoss: 0.3,
    wallSeconds: 4.25,
    machine: { hostname: 'h', platform: 'linux-x64', cpuModel: 'cpu', cpus: 2, memoryGiB: 8, node: 'v20' },
    backend: 'wasm (1 thread)',
    worker: 'local-1',
    finishedAt: '2026-01-01T00:00:00.000Z',
    ...over,
  };
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lenet-store-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('openResultStore', () => {
  it('keeps each result in jobs/<id>.json and reads it back equal', async () => {
    const store = openResultStore(dir);
    expect(await store.get(ID)).toBeUndefined();
    await store.put(result());
    expect(await readdir(join(dir, 'jobs'))).toEqual([`${ID}.json`]);
    expect(JSON.parse(await readFile(join(dir, 'jobs', `${ID}.json`), 'utf8'))).toEqual(result());
    expect(await openResultStore(dir).get(ID)).toEqual(result());
    await store.put(result(ID, { testAccuracy: 0.5 }));
    expect((await store.get(ID))?.testAccuracy).toBe(0.5);
    // Written through a temporary file and a rename: nothing else is left in the folder.
    expect(await readdir(join(dir, 'jobs'))).toEqual([`${ID}.json`]);
    expect(store.problems).toEqual([]);
  });

  it('reports a corrupt, foreign or non-regular file once, naming it, and does not use it', async () => {
    const told: string[] = [];
    const store = openResultStore(dir, { onProblem: (m) => told.push(m) });
    const jobs = join(dir, 'jobs');
    await mkdir(jobs);
    await writeFile(join(jobs, `${ID}.json`), '{"id": "aaa', 'utf8');
    expect(await store.get(ID)).toBeUndefined();
    expect(await store.get(ID)).toBeUndefined();
    await writeFile(join(jobs, `${OTHER}.json`), JSON.stringify(result(ID)));
    expect(await store.get(OTHER)).toBeUndefined();
    const c = 'c'.repeat(64);
    await writeFile(
      join(jobs, `${c}.json`),
      JSON.stringify(result(c, { status: 'done', testAccuracy: undefined })),
    );
    expect(await store.get(c)).toBeUndefined();
    const d = 'd'.repeat(64);
    await mkdir(join(jobs, `${d}.json`));
    expect(await store.get(d)).toBeUndefined();
    expect(told).toEqual([
      expect.stringMatching(
        new RegExp(
          `^${join(jobs, ID)}\\.json: not valid JSON \\(.*\\); not used \\(the job runs again and replaces it\\)$`,
        ),
      ),
      `${join(jobs, OTHER)}.json: holds the result of job ${ID}, not of ${OTHER}; not used (the job runs again and replaces it)`,
      `${join(jobs, c)}.json: a done result needs numbers testAccuracy and testLoss; not used (the job runs again and replaces it)`,
      `${join(jobs, d)}.json: is a directory, expected a file; not used (the job runs again and replaces it)`,
    ]);
    expect(store.problems).toEqual(told);
    // Replacing the bad file mends it.
    await store.put(result());
    expect(await store.get(ID)).toEqual(result());
  });

  it('refuses an id that is not a job id before touching the file system', async () => {
    const store = openResultStore(dir);
    await expect(store.get('../../etc/passwd')).rejects.toThrow('not a job id: "../../etc/passwd"');
    await expect(store.put(result('x'))).rejects.toMatchObject({ code: 'JOB_INVALID' });
  });
});

describe('isFinalResult', () => {
  it('keeps done results and input failures; retries the rest', () => {
    expect(isFinalResult(result())).toBe(true);
    const failed = (kind: 'input' | 'failure') =>
      result(ID, { status: 'failed', testAccuracy: undefined, error: { code: 'X', message: 'm', kind } });
    expect(isFinalResult(failed('input'))).toBe(true);
    expect(isFinalResult(failed('failure'))).toBe(false);
  });
});
