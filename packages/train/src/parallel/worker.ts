// Entry point of a data-parallel gradient worker (a `worker_threads` Worker): builds the model
// from the spec on its own backend instance, then answers one `step` message per training step.
import { parentPort, workerData } from 'node:worker_threads';
import { type BackendName, setWasmKernelThreads, useBackend } from '@lenet/backend';
import type { ModelSpec } from '@lenet/models';
import { buildModel } from '@lenet/models/tf';
import { compileModelNet } from '../compiled-step.js';
import { dropoutLayers, setDropoutSeeds } from '../dropout.js';
import { modelVariables } from '../step.js';
import type { ErrorReply, GradsReply, ReadyReply, StepRequest, WorkerInit } from './protocol.js';
import { netShardGradients, type ShardStats, shardGradients, sizeOf, writeFrom } from './shard-step.js';

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
  // The same kernels as the main thread's step: its shard and this one then differ only by data.
  const { net, reason } = init.compiled
    ? compileModelNet(model, vars.trainable)
    : { net: null, reason: 'the main thread runs autodiff' };
  const ready: ReadyReply = {
    type: 'ready',
    trainable: vars.trainable.map((v) => [...v.shape]),
    nonTrainable: vars.nonTrainable.map((v) => [...v.shape]),
    backend: info.tfBackend,
    path: { kind: net ? 'compiled' : 'autodiff', reason },
  };
  port.postMessage(ready);
  port.on('message', (msg: StepRequest) => {
    if (msg.type !== 'step') return;
    try {
      // The main thread wrote the current weights before sending this step.
      writeFrom([...vars.trainable, ...vars.nonTrainable], weights, 0);
      const data = new Float32Array(init.grads, 0, gradSize);
      let stats: ShardStats;
      if (net?.usable()) {
        stats = netShardGradients(net, vars.nonTrainable, msg, msg.dropoutSeeds, init.ce, data);
      } else {
        setDropoutSeeds(dropouts, msg.dropoutSeeds);
        stats = shardGradients(model, vars, msg, init.ce, data);
      }
      const reply: GradsReply = { type: 'grads', step: msg.step, ...stats };
      port.postMessage(reply);
    } catch (error) {
      fail(msg.step, error);
    }
  });
}

main().catch((error) => fail(null, error));
