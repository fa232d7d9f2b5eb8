// Entry of a job process (see job-process.ts): activates the backend once, then runs each job it
// is sent. Exits when its parent goes away (the IPC channel closes).
import { isLenetError } from '@lenet/common';
import { parseJob } from './job.js';
import type { FromChild, JobProcessOptions, ToChild } from './job-process.js';
import { runJob } from './run-job.js';

let options: JobProcessOptions | undefined;
let backend = 'unknown';

function send(message: FromChild): void {
  process.send?.(message);
}

function errorMessage(e: unknown): FromChild {
  return isLenetError(e)
    ? { kind: 'error', code: e.code, message: e.message, errorKind: e.kind }
    : {
        kind: 'error',
        code: 'JOB_FAILED',
        message: e instanceof Error ? e.message : String(e),
        errorKind: 'failure',
      };
}

async function init(o: JobProcessOptions): Promise<void> {
  options = o;
  const { useBackend, setWasmKernelThreads } = await import('@lenet/backend');
  const info = await useBackend(o.backend as Parameters<typeof useBackend>[0]);
  backend = info.name;
  if (info.name === 'wasm' && o.threads !== undefined) {
    await setWasmKernelThreads(o.threads);
    backend = `wasm (${o.threads} ${o.threads === 1 ? 'thread' : 'threads'})`;
  }
  send({ kind: 'ready', backend });
}

async function run(payload: unknown): Promise<void> {
  const job = parseJob(payload);
  const result = await runJob(job, { worker: options?.worker ?? 'unknown', backend });
  send({ kind: 'result', result });
}

process.on('message', (message: ToChild) => {
  const work = message.kind === 'init' ? init(message.options) : run(message.job);
  work.catch((e: unknown) => send(errorMessage(e)));
});
process.on('disconnect', () => process.exit(0));
// Ctrl-C in a terminal reaches the whole process group: the parent decides (its first Ctrl-C lets
// the running jobs finish), and this process ends when the parent does (the channel closes).
process.on('SIGINT', () => {});
