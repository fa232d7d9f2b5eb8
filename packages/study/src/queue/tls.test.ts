// rediss://: a redis-server that speaks TLS only, with a self-signed certificate that the worker and
// the coordinator trust through NODE_EXTRA_CA_CERTS (as a user would add a private CA).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tinyJobs } from '../testing/jobs.js';
import { startCoordinator } from '../testing/processes.js';
import type { JobResult } from '../types.js';

function opensslAvailable(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    console.warn(
      '\n!!! SKIPPED: packages/study/src/queue/tls.test.ts: openssl is not installed (it makes the test certificate): sudo apt-get install openssl\n',
    );
    return false;
  }
}

const available = redisAvailable('packages/study/src/queue/tls.test.ts') && opensslAvailable();

describe.skipIf(!available)('a queue behind TLS (rediss://)', () => {
  let dir: string;
  let redis: RedisServer;
  let worker: Proc | undefined;

  beforeAll(async () => {
    requireBuilt();
    dir = mkdtempSync(join(tmpdir(), 'lenet-queue-tls-'));
    const cert = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=DNS:localhost',
        '-keyout',
        key,
        '-out',
        cert,
      ],
      // Its progress dots stay out of the test output; its errors stay in the exception.
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    redis = await startRedis({ tls: { cert, key } });
  });
  afterAll(async () => {
    await worker?.stop();
    await redis?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('runs a job over TLS when the certificate is trusted, and says why not when it is not', async () => {
    const trusted = { ...process.env, NODE_EXTRA_CA_CERTS: join(dir, 'cert.pem') };
    expect(redis.url).toMatch(/^rediss:\/\/localhost:\d+$/);
    worker = await startWorker(redis.url, 'worker-tls', [], trusted);
    const jobs = tinyJobs([51]);
    const jobsFile = join(dir, 'jobs.json');
    writeFileSync(jobsFile, JSON.stringify(jobs));
    const coordinator = startCoordinator(redis.url, jobsFile, join(dir, 'results'), trusted);
    expect((await coordinator.exited).code, coordinator.text()).toBe(0);
    const line = coordinator.lines.find((l) => l.startsWith('results ')) ?? '';
    const [result] = JSON.parse(line.slice('results '.length)) as JobResult[];
    expect(result?.status).toBe('done');
    expect(result?.worker).toBe('worker-tls');

    const untrusting = startCoordinator(redis.url, jobsFile, join(dir, 'other-results'));
    expect((await untrusting.exited).code).toBe(1);
    expect(untrusting.text()).toBe(
      `error QUEUE_UNAVAILABLE cannot reach the queue at ${redis.url}: self-signed certificate`,
    );
  });
});
