// The process a bench worker runs each job in, and its start-up detection in: a fresh process per
// job, as a plain `pnpm bench` is, whose measurements (which block their event loop for seconds)
// cannot starve the worker's loop that renews the job's lock. It never sees the queue's URL.

import { errorMessage } from '../run/context.js';
import { runBenchmark } from '../run.js';
import { detectBackends } from './detect.js';
import { planOf } from './job.js';
import type { FromChild, ToChild } from './job-process.js';

function send(message: FromChild): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send) resolve();
    else process.send(message, undefined, {}, () => resolve());
  });
}

async function handle(request: ToChild): Promise<FromChild> {
  if (request.kind === 'detect') return { kind: 'detected', found: await detectBackends(request.backends) };
  const result = await runBenchmark(planOf(request.job), (line) => void send({ kind: 'log', line }));
  return { kind: 'result', result };
}

// The worker is gone (killed): measuring on would only load a machine another worker may use.
process.once('disconnect', () => process.exit(1));

process.once('message', (request: ToChild) => {
  handle(request)
    .catch((err: unknown): FromChild => ({ kind: 'error', message: errorMessage(err) }))
    .then(send)
    // The wasm backend's threads keep a process alive: it has said all it has to say.
    .finally(() => process.exit(0));
});
