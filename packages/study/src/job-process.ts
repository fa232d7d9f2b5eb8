// A child process that runs study jobs one at a time. The local pool keeps N of them; the queue
// worker keeps one per concurrent job, so that its own event loop stays free to renew BullMQ's
// job locks while the child trains (training blocks the loop it runs on).
import { type ChildProcess, fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { StudyError } from './errors.js';
import type { JobResult, StudyJob } from './types.js';

/** How a job process sets itself up. */
export interface JobProcessOptions {
  /** Backend to activate in the child (`useBackend`): `auto`, `wasm`, `cpu`… */
  backend: string;
  /** Threads of the wasm kernels in the child (the cores divided among the processes). */
  threads?: number;
  /** Name recorded in each result (`local-1`, `host-1234-1`). */
  worker: string;
}

/** Messages from parent to child. */
export type ToChild = { kind: 'init'; options: JobProcessOptions } | { kind: 'run'; job: unknown };

/** Messages from child to parent. */
export type FromChild =
  | { kind: 'ready'; backend: string }
  | { kind: 'result'; result: JobResult }
  | { kind: 'error'; code: string; message: string; errorKind: 'input' | 'failure' };

/** The child script: next to this module once built; from `dist` when running from sources. */
export function jobChildScript(): string {
  const candidates = [
    new URL('./job-child.js', import.meta.url),
    new URL('../dist/job-child.js', import.meta.url),
  ];
  for (const url of candidates) {
    const path = fileURLToPath(url);
    if (existsSync(path)) return path;
  }
  throw new StudyError(
    'STUDY_FAILED',
    `the job process script is missing (looked for ${candidates.map((u) => fileURLToPath(u)).join(', ')}): build @lenet/study first (pnpm turbo run build --filter=@lenet/study)`,
  );
}

/** One child process running jobs one at a time; see {@link JobProcess.start}. */
export class JobProcess {
  private pending: { resolve: (m: FromChild) => void; reject: (e: Error) => void } | undefined;
  private exited: Error | undefined;

  private constructor(
    private readonly child: ChildProcess,
    /** The backend the child activated, e.g. `wasm (2 threads)`. */
    readonly backend: string,
  ) {}

  /** Starts a child, activates its backend and resolves once it is ready for jobs. */
  static async start(options: JobProcessOptions): Promise<JobProcess> {
    const child = fork(jobChildScript(), [], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'advanced',
    });
    const ready = await new Promise<FromChild>((resolve, reject) => {
      child.once('message', (m) => resolve(m as FromChild));
      child.once('exit', (code, signal) =>
        reject(
          new StudyError('STUDY_FAILED', `job process exited while starting (${signal ?? `code ${code}`})`),
        ),
      );
      child.send({ kind: 'init', options } satisfies ToChild);
    });
    if (ready.kind === 'error') {
      child.kill();
      throw new StudyError('STUDY_FAILED', `job process could not start: ${ready.message}`, {
        kind: ready.errorKind,
      });
    }
    if (ready.kind !== 'ready')
      throw new StudyError('STUDY_FAILED', 'job process sent an unexpected first message');
    const proc = new JobProcess(child, ready.backend);
    child.removeAllListeners('exit');
    child.on('message', (m) => proc.settle(m as FromChild));
    child.on('exit', (code, signal) => {
      proc.exited = new StudyError('STUDY_FAILED', `job process exited (${signal ?? `code ${code}`})`);
      proc.pending?.reject(proc.exited);
      proc.pending = undefined;
    });
    return proc;
  }

  private settle(message: FromChild): void {
    const p = this.pending;
    this.pending = undefined;
    p?.resolve(message);
  }

  /**
   * Runs one job (validated in the child with `parseJob`). A bad payload resolves to a failed result
   * without a job id check; the child dying rejects with a {@link StudyError} (`STUDY_FAILED`).
   */
  async run(job: StudyJob | unknown): Promise<JobResult> {
    if (this.exited) throw this.exited;
    if (this.pending) throw new StudyError('STUDY_FAILED', 'a job process runs one job at a time');
    const message = await new Promise<FromChild>((resolve, reject) => {
      this.pending = { resolve, reject };
      this.child.send({ kind: 'run', job } satisfies ToChild);
    });
    if (message.kind === 'result') return message.result;
    if (message.kind === 'error')
      throw new StudyError(message.code === 'JOB_INVALID' ? 'JOB_INVALID' : 'STUDY_FAILED', message.message, {
        kind: message.errorKind,
      });
    throw new StudyError('STUDY_FAILED', `job process sent an unexpected message '${message.kind}'`);
  }

  /** Ends the child (at once: a job in progress is lost). */
  async stop(): Promise<void> {
    if (this.exited || this.child.exitCode !== null) return;
    const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGTERM');
    await gone;
  }
}
