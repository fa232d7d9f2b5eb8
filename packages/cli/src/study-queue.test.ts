// `lenet study run --queue`: the "done when" end to end — the same study locally and through
// a real redis-server (with a password) with two `lenet worker` processes gives the same numbers and
// the same report, and the password appears nowhere. Build first: pnpm turbo run build --filter=@lenet/cli...
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type Proc,
  type RedisServer,
  redisAvailable,
  requireBuilt,
  startRedis,
  startWorker,
  tinyStudy,
} from '@lenet/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lenet } from './testing/helpers.js';

const available = redisAvailable('packages/cli/src/study-queue.test.ts');
const tmp = mkdtempSync(join(tmpdir(), 'lenet-cli-study-queue-'));
const PASSWORD = 'study-queue-secret';

const STUDY = tinyStudy({ name: 'tiny-queue' });

interface Results {
  command: string;
  jobs: { id: string; arm: string; seed: number; status: string; testAccuracy: number; worker: string }[];
}

describe.skipIf(!available)('lenet study run --queue', () => {
  let redis: RedisServer;
  const workers: Proc[] = [];

  beforeAll(async () => {
    requireBuilt();
    redis = await startRedis({ password: PASSWORD });
  });
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    await redis?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('answers the same question with the same numbers as the local pool, and never shows the password', async () => {
    const file = join(tmp, 'tiny.json');
    writeFileSync(file, JSON.stringify(STUDY));
    const url = redis.url;
    expect(url).toContain(PASSWORD);
    workers.push(await startWorker(url, 'w1'), await startWorker(url, 'w2'));

    const viaQueue = join(tmp, 'queue');
    const q = await lenet('study', 'run', file, '--queue', url, '--out', viaQueue);
    expect(q.err).not.toMatch(/lenet: /);
    expect(q.code).toBe(0);
    expect(q.out).toMatch(
      /^study tiny-queue: 4 jobs \(2 arms x 2 seeds\); on the queue redis:\/\/:\*\*\*@127\.0\.0\.1:\d+ /,
    );
    expect(q.out).toMatch(/Does convolution help\?: .*2 seeds\)\nreport: .*study\.md/);

    const local = join(tmp, 'local');
    const l = await lenet('study', 'run', file, '--out', local, '--backend', 'wasm', '--workers', '2');
    expect(l.code).toBe(0);

    const read = (dir: string) => JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as Results;
    const queued = read(viaQueue);
    const pooled = read(local);
    // Every job once, trained by the two workers; each equal to the same job in the local pool.
    expect(queued.jobs.map((j) => j.id).sort()).toEqual(pooled.jobs.map((j) => j.id).sort());
    expect(new Set(queued.jobs.map((j) => j.worker))).toEqual(new Set(['w1', 'w2']));
    for (const job of queued.jobs) {
      const same = pooled.jobs.find((j) => j.id === job.id);
      expect(job.status).toBe('done');
      expect(job.testAccuracy).toBe(same?.testAccuracy);
    }
    // The report's answer is the same, and the password is in no output and no file.
    const verdict = (dir: string) =>
      readFileSync(join(dir, 'study.md'), 'utf8').match(/\*\*Verdict:\*\* .*/)?.[0];
    expect(verdict(viaQueue)).toBe(verdict(local));
    expect(queued.command).toMatch(/--queue redis:\/\/:\*\*\*@127\.0\.0\.1:\d+/);
    for (const text of [
      q.out,
      q.err,
      readFileSync(join(viaQueue, 'results.json'), 'utf8'),
      readFileSync(join(viaQueue, 'study.md'), 'utf8'),
      ...workers.map((w) => w.text()),
    ])
      expect(text).not.toContain(PASSWORD);
  }, 240_000);
});
