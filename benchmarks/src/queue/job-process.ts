// The worker's side of a job process (child.ts): starts one, sends it the request, forwards what
// it logs, and returns its answer; stops it when the worker stops.
import { fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { BenchBackend, BenchResult } from '../types.js';
import type { Detected } from './detect.js';
import type { BenchJob } from './job.js';

/** What a job process is asked: which backends work here, or to run one job. */
export type ToChild = { kind: 'detect'; backends: BenchBackend[] } | { kind: 'run'; job: BenchJob };

/** What a job process says: progress lines, then one answer. */
export type FromChild =
  | { kind: 'log'; line: string }
  | { kind: 'detected'; found: Detected[] }
  | { kind: 'result'; result: BenchResult }
  | { kind: 'error'; message: string };

/** How long a stopped job process has to exit before it is killed. */
const KILL_AFTER_MS = 5000;

/** The child script: next to this module once built; from `dist` when running from sources. */
export function childScript(): string {
  const candidates = [
    new URL('./child.js', import.meta.url),
    new URL('../../dist/queue/child.js', import.meta.url),
  ];
  for (const url of candidates) {
    const path = fileURLToPath(url);
    if (existsSync(path)) return path;
  }
  throw new Error(
    `the bench job process script is missing (looked for ${candidates.map((u) => fileURLToPath(u)).join(', ')}): build the harness first (pnpm turbo run build --filter=@lenet/benchmarks...)`,
  );
}

/** The error of a job process stopped by the worker's signal. */
export class ChildStopped extends Error {
  override readonly name = 'ChildStopped';
}

/**
 * Runs `request` in a fresh job process and resolves with its answer. Its progress lines and
 * anything it prints go to `log`. Rejects when the process dies before answering, or with
 * {@link ChildStopped} when `signal` aborts (the process is then stopped, killed if it lingers).
 */
export function inChild(
  request: ToChild,
  log: (line: string) => void,
  signal?: AbortSignal,
): Promise<Exclude<FromChild, { kind: 'log' }>> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new ChildStopped('stopped before it started'));
      return;
    }
    const child = fork(childScript(), [], {
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'advanced',
    });
    let answer: Exclude<FromChild, { kind: 'log' }> | undefined;
    let killer: NodeJS.Timeout | undefined;
    const stop = () => {
      child.kill('SIGTERM');
      killer = setTimeout(() => child.kill('SIGKILL'), KILL_AFTER_MS);
    };
    signal?.addEventListener('abort', stop, { once: true });
    for (const stream of [child.stdout, child.stderr]) {
      let rest = '';
      stream?.on('data', (d: Buffer) => {
        const lines = (rest + d.toString()).split('\n');
        rest = lines.pop() ?? '';
        for (const line of lines) if (line.trim() !== '') log(line);
      });
    }
    child.on('message', (m: FromChild) => {
      if (m.kind === 'log') log(m.line);
      else answer ??= m;
    });
    child.once('error', (e) => reject(e));
    // 'close': every message and line it sent has been read by then.
    child.once('close', (code, sig) => {
      clearTimeout(killer);
      signal?.removeEventListener('abort', stop);
      if (answer) resolve(answer);
      else if (signal?.aborted) reject(new ChildStopped('stopped with the worker'));
      else reject(new Error(`the job process exited (${sig ?? `code ${code}`}) without an answer`));
    });
    child.send(request);
  });
}
