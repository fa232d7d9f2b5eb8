import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Worker } from 'node:worker_threads';
import { setWasmKernelThreads, wasmKernelThreads } from '@lenet/backend';
import { batches } from '@lenet/datasets';
import { beforeAll, describe, expect, it } from 'vitest';
import { evaluate, fit, TrainError } from '../index.js';
import { modelVariables, StepRunner as Runner } from '../step.js';
import { mnistHead, model, useWasm } from '../testing/helpers.js';
import * as tf from '../tfjs.js';
import { netShardGradients, shardGradients, sizeOf } from './shard-step.js';
import {
  activeGradientWorkers,
  ParallelTrainer,
  SLOW_WORKERS_WARNING,
  slowWorkersWarning,
} from './trainer.js';

// The worker threads run the built package (dist/parallel/worker.js): build it (turbo: a cache
// hit when the sources did not change) so they run the same code as these tests.
beforeAll(() => {
  const root = fileURLToPath(new URL('../../../../', import.meta.url));
  execFileSync(
    'pnpm',
    ['exec', 'turbo', 'run', 'build', '--filter=@lenet/train', '--output-logs=errors-only'],
    {
      cwd: root,
      stdio: 'pipe',
    },
  );
}, 120_000);

const curve = async (name: string, workers: number, epochs: number, n: number) => {
  await useWasm();
  const train = await mnistHead('train', n);
  const { model: m, spec } = model(name, 3);
  const r = await fit(m, train, { epochs, batchSize: 64, seed: 5, spec, workers, learningRate: 2e-3 });
  const test = await mnistHead('test', 1000);
  const ev = await evaluate(m, test, { batchSize: 500 });
  m.dispose();
  return { loss: r.history.map((h) => h.loss), accuracy: ev.accuracy, steps: r.steps };
};

describe('data-parallel fit (workers: 2)', () => {
  it('follows the single-worker loss curve for the same seed (LeNet-5: per-epoch loss within 2 %, accuracy within 1 point)', async () => {
    const before = tf.memory().numTensors;
    const one = await curve('lenet5', 1, 3, 1536);
    const two = await curve('lenet5', 2, 3, 1536);
    console.log(
      `lenet5 loss 1 worker ${one.loss.map((l) => l.toFixed(4))}, 2 workers ${two.loss.map((l) => l.toFixed(4))}; test acc ${one.accuracy} / ${two.accuracy}`,
    );
    expect(two.steps).toBe(one.steps);
    for (let e = 0; e < 3; e++) expect(Math.abs(two.loss[e] - one.loss[e]) / one.loss[e]).toBeLessThan(0.02);
    expect(Math.abs(two.accuracy - one.accuracy)).toBeLessThanOrEqual(0.01);
    expect(two.loss[2]).toBeLessThan(two.loss[0]);
    // No tensor left behind on the main thread, no worker thread left running.
    expect(tf.memory().numTensors).toBe(before);
    expect(activeGradientWorkers()).toBe(0);
  });

  it('is deterministic for a seed and stays close with batch norm + dropout (torch-bn: per-epoch loss within 5 %; shards normalise with their own statistics and draw their own dropout masks)', async () => {
    const a = await curve('torch-bn', 2, 2, 1024);
    const b = await curve('torch-bn', 2, 2, 1024);
    const one = await curve('torch-bn', 1, 2, 1024);
    console.log(
      `torch-bn loss 1 worker ${one.loss.map((l) => l.toFixed(4))}, 2 workers ${a.loss.map((l) => l.toFixed(4))}; test acc ${one.accuracy} / ${a.accuracy}`,
    );
    expect(b.loss).toEqual(a.loss);
    expect(b.accuracy).toBe(a.accuracy);
    for (let e = 0; e < 2; e++) expect(Math.abs(a.loss[e] - one.loss[e]) / one.loss[e]).toBeLessThan(0.05);
    expect(a.loss[1]).toBeLessThan(a.loss[0]);
  });

  it('runs the worker threads during training and ends them after', async () => {
    await useWasm();
    await setWasmKernelThreads(2);
    const train = await mnistHead('train', 256);
    const { model: m, spec } = model('lenet5', 1);
    const seen: number[] = [];
    const kernelThreads: number[] = [];
    const before = tf.memory().numTensors;
    await fit(m, train, {
      epochs: 1,
      batchSize: 64,
      spec,
      workers: 3,
      callbacks: [
        {
          onBatchEnd: () => {
            seen.push(activeGradientWorkers());
            kernelThreads.push(wasmKernelThreads());
          },
        },
      ],
    });
    expect(seen).toEqual([2, 2, 2, 2]);
    expect(activeGradientWorkers()).toBe(0);
    expect(tf.memory().numTensors).toBe(before);
    // The SIMD kernels' helper threads: off while the workers use the cores, back after.
    expect(kernelThreads).toEqual([1, 1, 1, 1]);
    expect(wasmKernelThreads()).toBe(2);
    m.dispose();
  });

  it('refuses workers > 1 without a spec, or with a spec of another model, before training', async () => {
    await useWasm();
    const train = await mnistHead('train', 128);
    const { model: m } = model('lenet5', 1);
    const { spec: other } = model('torch-bn', 1);
    const before = tf.memory().numTensors;
    await expect(fit(m, train, { epochs: 1, workers: 2 })).rejects.toThrow(
      /workers: 2 needs options.spec \(the ModelSpec the model was built from\)/,
    );
    await expect(fit(m, train, { epochs: 1, workers: 0 })).rejects.toThrow(
      /workers must be a positive integer, got 0/,
    );
    await expect(fit(m, train, { epochs: 1, workers: 2, spec: other })).rejects.toThrow(
      /options.spec does not describe the model being trained/,
    );
    await expect(fit(m, train, { epochs: 1, workers: 2, spec: other })).rejects.toBeInstanceOf(TrainError);
    expect(activeGradientWorkers()).toBe(0);
    expect(tf.memory().numTensors).toBe(before);
    m.dispose();
  });

  it('turns a worker that dies mid-training into a clear error, and cleans up', async () => {
    await useWasm();
    const { model: m, spec } = model('lenet5', 1);
    const trainStep = new Runner(m, { optimizer: { name: 'adam' }, seed: 1 });
    const trainer = await ParallelTrainer.start({ trainStep, spec, workers: 2 });
    const train = await mnistHead('train', 64);
    const [batch] = batches(train, { batchSize: 32, layout: 'NHWC', normalize: 'unit' });
    await trainer.step(batch, 1e-3, 0);
    expect(trainer.threadIds).toHaveLength(1);
    const pool = (trainer as unknown as { pool: Array<{ worker: Worker }> }).pool;
    await pool[0].worker.terminate();
    const [next] = batches(train, { batchSize: 32, layout: 'NHWC', normalize: 'unit' });
    await expect(trainer.step(next, 1e-3, 1)).rejects.toThrow(/worker 1 exited unexpectedly/);
    await trainer.dispose();
    expect(trainer.running).toBe(0);
    expect(activeGradientWorkers()).toBe(0);
    trainStep.dispose();
    m.dispose();
  });

  it('computes every shard with the compiled net where the single-thread step runs compiled, else with autodiff', async () => {
    await useWasm();
    const train = await mnistHead('train', 64);
    const [batch] = batches(train, { batchSize: 64, layout: 'NHWC', normalize: 'unit' });
    for (const compiled of [true, false]) {
      const { model: m, spec } = model('lenet5', 1);
      const trainStep = new Runner(m, { optimizer: 'adam', seed: 1, compiled });
      const trainer = await ParallelTrainer.start({ trainStep, spec, workers: 2 });
      try {
        await trainer.step(batch, 1e-3, 0);
        const kind = compiled ? 'compiled' : 'autodiff';
        expect(trainer.paths.map((p) => p.kind)).toEqual([kind, kind]);
      } finally {
        await trainer.dispose();
        trainStep.dispose();
        m.dispose();
      }
    }
    expect(activeGradientWorkers()).toBe(0);
  });

  it("gives a shard the compiled net's gradients equal to autodiff's (torch-bn: batch norm, dropout masks of the same seeds)", async () => {
    await useWasm();
    const train = await mnistHead('train', 32);
    const [batch] = batches(train, { batchSize: 32, layout: 'NHWC', normalize: 'unit' });
    const { model: m } = model('torch-bn', 2);
    const trainStep = new Runner(m, { optimizer: 'adam', seed: 3 });
    const vars = modelVariables(m);
    const saved = [...vars.trainable, ...vars.nonTrainable].map((v) => tf.clone(v));
    const net = trainStep.compiled?.net;
    if (!net) throw new Error(`expected the compiled step, got ${trainStep.path.reason}`);
    const seeds = trainStep.dropoutSeeds(7, 1);
    const total = sizeOf(vars.trainable) + sizeOf(vars.nonTrainable);
    const fromNet = new Float32Array(total);
    const a = netShardGradients(net, vars.nonTrainable, batch, seeds, trainStep.ce, fromNet);
    // The same starting weights (the forward pass moved the batch-norm statistics).
    for (const [i, v] of [...vars.trainable, ...vars.nonTrainable].entries()) v.assign(saved[i]);
    trainStep.seedDropout(7, 1);
    const fromTape = new Float32Array(total);
    const b = shardGradients(m, vars, batch, trainStep.ce, fromTape);
    let worst = 0;
    let norm = 0;
    for (let i = 0; i < total; i++) norm = Math.max(norm, Math.abs(fromTape[i]));
    for (let i = 0; i < total; i++) worst = Math.max(worst, Math.abs(fromNet[i] - fromTape[i]));
    expect(worst / norm).toBeLessThan(1e-3);
    expect(a.loss).toBeCloseTo(b.loss, 4);
    expect(a.correct).toBe(b.correct);
    tf.dispose(saved);
    trainStep.dispose();
    m.dispose();
  });

  it('broadcasts the weights as the compiled update left them, and picks up a change made between steps', async () => {
    await useWasm();
    const { model: m, spec } = model('torch-bn', 1);
    const trainStep = new Runner(m, { optimizer: 'adam', seed: 1 });
    const trainer = await ParallelTrainer.start({ trainStep, spec, workers: 2 });
    const inner = trainer as unknown as { weights: Float32Array; publish(): void };
    const all = [...trainStep.vars.trainable, ...trainStep.vars.nonTrainable];
    const current = () => {
      const out = new Float32Array(inner.weights.length);
      let off = 0;
      for (const v of all) {
        out.set(v.dataSync() as Float32Array, off);
        off += v.size;
      }
      return out;
    };
    try {
      const train = await mnistHead('train', 128);
      let step = 0;
      for (const b of batches(train, { batchSize: 64, layout: 'NHWC', normalize: 'unit' })) {
        await trainer.step(b, 1e-3, step++);
      }
      inner.publish();
      expect(inner.weights).toEqual(current());
      // A callback's change (an assign) between two steps.
      const v = trainStep.vars.trainable[2];
      v.assign(tf.fill(v.shape, 0.25));
      inner.publish();
      expect(inner.weights).toEqual(current());
    } finally {
      await trainer.dispose();
      trainStep.dispose();
      m.dispose();
    }
  });

  it('warns (once) that workers can be slower than one thread when they have no core to spare and the step runs compiled', () => {
    expect(slowWorkersWarning(2, 2, true)).toMatch(/workers: 2 on 2 cores can be slower than workers: 1/);
    expect(slowWorkersWarning(3, 2, true)).not.toBeNull();
    expect(slowWorkersWarning(2, 8, true)).toBeNull();
    expect(slowWorkersWarning(2, 2, false)).toBeNull();
    expect(slowWorkersWarning(1, 2, true)).toBeNull();
    expect(SLOW_WORKERS_WARNING).toBe('LENET_WORKERS_SLOWER');
  });
});
