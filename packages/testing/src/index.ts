// Helpers for the hostile-input tests of several packages: FIFOs, time bounds, seeded mutations.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';

/** Processes started by {@link fifo}; the test file kills them when it ends. */
export const fifoWriters: ChildProcess[] = [];

/**
 * Makes a FIFO at `dir/name`. A writer opens it after 2 s, so a reader that blocks on the open
 * (the bug under test) is released and fails its test instead of hanging the test process.
 */
export function fifo(dir: string, name: string): string {
  const path = join(dir, name);
  execFileSync('mkfifo', [path]);
  fifoWriters.push(spawn('sh', ['-c', `sleep 2; exec 3>"${path}"`], { stdio: 'ignore' }));
  return path;
}

/** What a promise settled to within `ms`: `{ value }`, `{ error }`, or `{ hang: true }`. */
export async function settle<T>(
  promise: Promise<T>,
  ms: number,
): Promise<{ value?: T; error?: unknown; hang?: true }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<{ hang: true }>((resolve) => {
    timer = setTimeout(() => resolve({ hang: true }), ms);
  });
  try {
    return await Promise.race([
      promise.then(
        (value) => ({ value }),
        (error: unknown) => ({ error }),
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** A seeded generator of integers below `n` (mulberry32), for reproducible mutations. */
function seeded(seed: number): (n: number) => number {
  let state = seed | 0;
  return (n) => {
    state = (state + 0x6d2b79f5) | 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n) | 0;
  };
}

/** One mutated copy of a file and how it was made. */
export interface Mutation {
  bytes: Uint8Array;
  what: string;
}

/**
 * `count` seeded mutations of `original`: a third are truncations at a random length, the rest
 * flip 1–4 random bytes, half of those within the first `headBytes` (where the header is).
 */
export function* mutations(
  original: Uint8Array,
  count: number,
  seed: number,
  headBytes = 64,
): Generator<Mutation> {
  const int = seeded(seed);
  for (let i = 0; i < count; i++) {
    if (i % 3 === 0) {
      const length = int(original.length);
      yield { bytes: original.slice(0, length), what: `truncated to ${length} bytes` };
      continue;
    }
    const bytes = original.slice();
    const flips = 1 + int(4);
    const where: string[] = [];
    for (let k = 0; k < flips; k++) {
      const range = int(2) === 0 ? Math.min(headBytes, bytes.length) : bytes.length;
      const at = int(range);
      bytes[at] = int(256);
      where.push(`${at}=${bytes[at]}`);
    }
    yield { bytes, what: `bytes set ${where.join(', ')}` };
  }
}

/** Real processes with their output line by line, and `lenet worker` of the built CLI. */
export { Proc, requireBuilt, startWorker } from './processes.js';
/** A real redis-server on a free loopback port for the queue tests, and the loud skip without one. */
export {
  findRedisServer,
  REDIS_INSTALL,
  type RedisServer,
  type RedisServerOptions,
  redisAvailable,
  startRedis,
} from './redis.js';
/** The tiny study (2 arms x 2 seeds, 512 images) the study and CLI tests train. */
export { tinyStudy } from './studies.js';
