import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { mnistDataDir } from '@lenet/datasets';
import type { ModelSpec } from '@lenet/models';
import type { Timing } from './profiles.js';
import { PYTORCH_SCRIPT, torchEnv } from './pytorch.js';
import type { CellTask } from './types.js';

/** What one timing request to the reference script gave: ms per iteration, in order. */
export interface TorchSamples {
  torch: string;
  threads: number;
  samples: number[];
}

/** Longest a timing request may take by default (a folder-lenet50 cell at batch 32 takes about a minute). */
const REQUEST_TIMEOUT_MS = 30 * 60_000;

interface Reply {
  torch?: string;
  threads?: number;
  samples?: number[];
  ok?: boolean;
  error?: string;
}

/**
 * One long-lived `pytorch_ref.py --serve` process: it keeps each model, optimizer and batch between
 * requests, so that the bench can time PyTorch in short rounds between its own, with no import or
 * model build between them. Requests run one at a time, in the order asked.
 */
export class PytorchServer {
  private readonly replies: AsyncIterator<string>;
  private readonly specFiles = new Map<string, string>();
  private stderr = '';
  private queue: Promise<unknown> = Promise.resolve();
  private exited: string | undefined;

  private constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    private readonly dir: string,
    private readonly timeoutMs: number,
  ) {
    this.replies = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    child.stderr.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-4000);
    });
    child.on('exit', (code, signal) => {
      this.exited = `exited (${signal ?? `code ${code}`})`;
    });
    // A failed spawn, or a write to a process that died, surfaces as the request's error (its
    // replies end), not as an unhandled event.
    child.on('error', (err) => {
      this.exited = `could not start: ${err.message}`;
    });
    child.stdin.on('error', () => {});
  }

  /**
   * Starts the script with `python`; torch may use up to `threads` threads (each request sets its
   * own count), BLAS libraries one (see {@link torchEnv}). A request unanswered after `timeoutMs`
   * (30 minutes) ends the process.
   */
  static async start(
    python: string,
    threads: number,
    timeoutMs = REQUEST_TIMEOUT_MS,
  ): Promise<PytorchServer> {
    const dir = await mkdtemp(join(tmpdir(), 'lenet-bench-torch-'));
    const child = spawn(python, [PYTORCH_SCRIPT, '--serve', '--mnist', mnistDataDir()], {
      env: torchEnv(threads),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    return new PytorchServer(child, dir, timeoutMs);
  }

  /**
   * Times `task` of `spec` at `batch` on `threads` threads: `timing.warmupIterations` untimed
   * iterations, then at least `timing.iterations` timed ones and until `timing.timeMs` has passed.
   */
  time(
    spec: ModelSpec,
    task: CellTask,
    batch: number,
    threads: number,
    timing: Timing,
  ): Promise<TorchSamples> {
    return this.ask(async () => {
      const reply = await this.exchange({
        spec: await this.specFile(spec),
        task,
        batch,
        threads,
        iterations: timing.iterations,
        time: timing.timeMs / 1000,
        warmup: timing.warmupIterations,
      });
      if (!reply.samples?.length || reply.torch === undefined || reply.threads === undefined) {
        throw new Error(
          `pytorch_ref.py --serve: no samples in its reply (${JSON.stringify(reply).slice(0, 200)})`,
        );
      }
      return { torch: reply.torch, threads: reply.threads, samples: reply.samples };
    });
  }

  /** Lets the script forget the models it keeps (their memory), e.g. after a model's cells. */
  reset(): Promise<void> {
    return this.ask(async () => {
      this.specFiles.clear();
      await this.exchange({ reset: true });
    });
  }

  /** Ends the process and removes its spec files. */
  async close(): Promise<void> {
    await this.queue.catch(() => undefined);
    this.child.stdin.end();
    if (this.exited === undefined) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.child.kill();
          resolve();
        }, 5000);
        this.child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    await rm(this.dir, { recursive: true, force: true });
  }

  private ask<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work, work);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async specFile(spec: ModelSpec): Promise<string> {
    const text = JSON.stringify(spec);
    let file = this.specFiles.get(text);
    if (file === undefined) {
      file = join(this.dir, `spec-${this.specFiles.size}.json`);
      await writeFile(file, text);
      this.specFiles.set(text, file);
    }
    return file;
  }

  private async exchange(request: object): Promise<Reply> {
    if (this.exited !== undefined) throw this.failure();
    this.child.stdin.write(`${JSON.stringify(request)}\n`);
    let timer: NodeJS.Timeout | undefined;
    // A request that never returns (a hung torch) ends the process, as the one-shot script's
    // 30-minute limit did, instead of hanging the bench.
    const stuck = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.child.kill();
        reject(new Error(`pytorch_ref.py --serve did not answer within ${this.timeoutMs / 1000} s`));
      }, this.timeoutMs);
    });
    const { value, done } = await Promise.race([this.replies.next(), stuck]).finally(() =>
      clearTimeout(timer),
    );
    if (done) throw this.failure();
    let reply: Reply;
    try {
      reply = JSON.parse(value) as Reply;
    } catch {
      throw new Error(`pytorch_ref.py --serve answered a line that is not JSON: ${value.slice(0, 200)}`);
    }
    if (reply.error !== undefined) throw new Error(`pytorch_ref.py: ${reply.error}`);
    return reply;
  }

  private failure(): Error {
    const lines = this.stderr.trim().split('\n');
    const last = lines[lines.length - 1];
    return new Error(`pytorch_ref.py --serve ${this.exited ?? 'ended'}${last ? `: ${last}` : ''}`);
  }
}
