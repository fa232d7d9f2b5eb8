import { describe, expect, it } from 'vitest';
import { lenet } from '../testing/helpers.js';

// The worker against a real Redis is tested in packages/study/src/queue/ (it needs redis-server);
// these are its command line and its start-up failure, which need none.
describe('lenet worker', () => {
  it('requires --queue and checks its flags (exit 2)', async () => {
    const none = await lenet('worker');
    expect(none.code).toBe(2);
    expect(none.err).toContain("required option '--queue <url>' not specified");
    const zero = await lenet('worker', '--queue', 'redis://h', '--concurrency', '0');
    expect(zero.code).toBe(2);
    expect(zero.err).toContain("--concurrency must be a positive integer, got '0'");
    const backend = await lenet('worker', '--queue', 'redis://h', '--backend', 'gpu');
    expect(backend.code).toBe(2);
    expect(backend.err).toContain('--backend must be one of auto, tensorflow-gpu, tensorflow, wasm, cpu');
  });

  it('refuses a bad queue URL as bad input without showing its password (exit 2)', async () => {
    const r = await lenet('worker', '--queue', 'redis://:hunter2@h:6379/x');
    expect(r.code).toBe(2);
    expect(r.err).toBe(
      "lenet: invalid queue URL redis://:***@h:6379/x: database 'x' is not a number; expected redis://[user:password@]host[:port][/db] or rediss://… for TLS\n",
    );
  });

  it('fails within seconds when nothing listens at the queue address (exit 1)', async () => {
    const started = Date.now();
    const r = await lenet('worker', '--queue', 'redis://:hunter2@127.0.0.1:1');
    expect(r.code).toBe(1);
    expect(r.err).toBe(
      'lenet: cannot reach the queue at redis://:***@127.0.0.1:1: connect ECONNREFUSED 127.0.0.1:1\n',
    );
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
