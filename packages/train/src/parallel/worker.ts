// Entry point of a data-parallel gradient worker (a `worker_threads` Worker): builds the model
// from the spec on its own backend instance, then answers one `step` message per training step.
import { parentPort, workerData } from 'node:worker_threads';
import { type BackendName, setWasmKernelThreads, useBackend } from '@lenet/backend';
import type { ModelSpec } from '@lenet/models';
import { buildModel } from '@lenet/models/tf';
import { dropoutLayers, setDropoutSeeds } from '../dropout.js';
import { modelVariables } from '../step.js';
import type { ErrorReply, GradsReply, ReadyReply, StepRequest, WorkerInit } from './protocol.js';
import { shardGradients, sizeOf, writeFrom } from './shard-step.js';

const init = workerData as WorkerInit;
const port = parentPort;

function fail(step: number | null, error: unknown): void {
  const e = error as Error;
  const reply: ErrorReply = { type: 'error', step, message: e?.stack ?? e?.message ?? String(error) };
  port?.postMessage(reply);
}

async function main(): Promise<void> {
  if (!port) throw new Error('the @lenet/train gradient worker must run in a worker thread');
  // One thread per worker: the workers already use every core between them.
  await setWasmKernelThreads(1);
  const info = await useBackend(init.backend as BackendName);
  const model = buildModel(init.spec as ModelSpec, { seed: 0 });
  const vars = modelVariables(model);
  const dropouts = dropoutLayers(model);
  const weights = new Float32Array(init.weights);
  const gradSize = sizeOf(vars.trainable) + sizeOf(vars.nonTrainable);
  const ready: ReadyReply = {
    type: 'ready',
    trainable: vars.trainable.map((v) => [...v.shape]),
    nonTrainable: vars.nonTrainable.map((v) => [...v.shape]),
    backend: info.tfBackend,
  };
  port.postMessage(ready);
  port.on('message', (msg: StepRequest) => {
    if (msg.type !== 'step') return;
    try {
      // The main thread wrote the current weights before sending this step.
      writeFrom([...vars.trainable, ...vars.nonTrainable], weights, 0);
      setDropoutSeeds(dropouts, msg.dropoutSeeds);
      const data = new Float32Array(gradSize);
      const stats = shardGradients(model, vars, msg, init.ce, data);
      const reply: GradsReply = { type: 'grads', step: msg.step, data, ...stats };
      port.postMessage(reply, [data.buffer as ArrayBuffer]);
    } catch (error) {
      fail(msg.step, error);
    }
  });
}

main().catch((error) => fail(null, error));
