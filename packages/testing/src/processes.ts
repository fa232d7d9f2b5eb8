// Test helpers: real processes with their output kept line by line, and a `lenet worker` of the
// built CLI (the study queue's tests and the CLI's share them).
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// From src/ and from dist/ alike: both are one level below packages/testing.
const CLI = fileURLToPath(new URL('../../cli/dist/bin.js', import.meta.url));
const STUDY_DIST = fileURLToPath(new URL('../../study/dist/index.js', import.meta.url));

/** Throws, naming the build command, when the CLI or this package is not built. */
export function requireBuilt(): void {
  for (const file of [CLI, STUDY_DIST])
    if (!existsSync(file))
      throw new Error(`${file} is missing: build first (pnpm turbo run build --filter=@lenet/cli...)`);
}

/** A child process and what it printed, line by line (stdout and stderr together). */
export class Proc {
  readonly lines: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly child: ChildProcess;
  private waiters: (() => void)[] = [];
  private closed = false;

  constructor(args: string[], env: NodeJS.ProcessEnv = process.env) {
    this.child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    for (const stream of [this.child.stdout, this.child.stderr]) {
      let rest = '';
      stream?.on('data', (d: Buffer) => {
        const parts = (rest + d.toString()).split('\n');
        rest = parts.pop() ?? '';
        this.lines.push(...parts);
        for (const wake of this.waiters.splice(0)) wake();
      });
    }
    // 'close', not 'exit': by then everything it printed has been read.
    this.exited = new Promise((resolve) =>
      this.child.once('close', (code, signal) => {
        this.closed = true;
        for (const wake of this.waiters.splice(0)) wake();
        resolve({ code, signal });
      }),
    );
    const kill = () => this.child.kill('SIGKILL');
    process.once('exit', kill);
    void this.exited.then(() => process.off('exit', kill));
  }

  get alive(): boolean {
    return !this.closed;
  }

  /** Everything printed so far. */
  text(): string {
    return this.lines.join('\n');
  }

  /** Lines that match `pattern`. */
  matching(pattern: RegExp): string[] {
    return this.lines.filter((l) => pattern.test(l));
  }

  /** Resolves with the first line matching `pattern` (already printed or to come). */
  waitFor(pattern: RegExp, timeoutMs = 60_000): Promise<string> {
    return this.waitUntil(
      () => this.lines.find((l) => pattern.test(l)),
      `a line matching ${pattern}`,
      timeoutMs,
    );
  }

  /** Resolves once `count` lines match `pattern`. */
  async waitForCount(pattern: RegExp, count: number, timeoutMs = 60_000): Promise<void> {
    await this.waitUntil(
      () => (this.matching(pattern).length >= count ? true : undefined),
      `${count} lines matching ${pattern}`,
      timeoutMs,
    );
  }

  private async waitUntil<T>(check: () => T | undefined, what: string, timeoutMs: number): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = check();
      if (found !== undefined) return found;
      if (!this.alive) throw new Error(`process exited before printing ${what}:\n${this.text()}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${what} within ${timeoutMs} ms:\n${this.text()}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  kill(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /** Ends it (SIGTERM) and waits. */
  async stop(): Promise<void> {
    if (this.alive) this.child.kill('SIGTERM');
    await this.exited;
  }
}

/** `lenet worker --queue <url> --backend wasm --threads 1 --name <name> …` from the built CLI. */
export async function startWorker(
  queue: string,
  name: string,
  extra: string[] = [],
  env?: NodeJS.ProcessEnv,
): Promise<Proc> {
  const worker = new Proc(
    [CLI, 'worker', '--queue', queue, '--backend', 'wasm', '--threads', '1', '--name', name, ...extra],
    env,
  );
  await worker.waitFor(/ worker \S+ on .*: backend /);
  return worker;
}
