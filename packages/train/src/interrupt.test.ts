import { mkdtemp, readdir, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Dataset } from '@lenet/datasets';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckpointError, type FitOptions, fit, modelCheckpoint, nanGuard, readCheckpoint } from './index.js';
import { mnistHead, model, tinyBnSpec, useWasm } from './testing/helpers.js';
import * as tf from './tfjs.js';

let root: string;
let train: Dataset;
beforeAll(async () => {
  await useWasm();
  root = await mkdtemp(join(tmpdir(), 'lenet-train-interrupt-'));
  train = await mnistHead('train', 2000);
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function flatWeights(m: tf.LayersModel): Promise<Float32Array> {
  const parts = await Promise.all(m.getWeights().map((w) => w.data<'float32'>()));
  return Float32Array.from(parts.flatMap((p) => Array.from(p)));
}

// Shuffling, crops, dropout, batch norm and a per-step schedule: everything that depends on the
// place in the epoch.
const options: FitOptions = {
  epochs: 2,
  batchSize: 64,
  seed: 5,
  optimizer: { name: 'sgd', momentum: 0.9 },
  learningRate: 0.05,
  schedule: { type: 'cosine', warmupEpochs: 0.5 },
  augment: true,
  validation: { fraction: 0.1 },
  spec: tinyBnSpec,
};

describe('a stop between batches (abort signal) and a resume inside the epoch', () => {
  it('stops after the batch during which the signal was aborted, saves its place, and resumes to the same weights and history', async () => {
    const straight = model('tiny-bn', 3).model;
    const full = await fit(straight, train, options);

    const dir = join(root, 'run');
    const first = model('tiny-bn', 3).model;
    const controller = new AbortController();
    const stopped = await fit(first, train, {
      ...options,
      signal: controller.signal,
      callbacks: [
        modelCheckpoint({ dir, save: 'last' }),
        {
          onBatchEnd: (batch, _logs, ctx) => {
            // As a Ctrl-C arriving while batch 11 of epoch 2 trains.
            if (ctx.epoch === 1 && batch === 9) setImmediate(() => controller.abort('interrupted (test)'));
          },
        },
      ],
    });
    expect(stopped.stopped).toEqual({ reason: 'interrupted (test)', epoch: 1 });
    expect(stopped.history).toHaveLength(1);
    expect(stopped.steps).toBe(29 + 11);
    const saved = await readCheckpoint(dir);
    expect(saved.state.version).toBe(2);
    expect(saved.state.epoch).toBe(1);
    expect(saved.state.step).toBe(29 + 11);
    expect(saved.state.position).toMatchObject({ batch: 11, stepsPerEpoch: 29, samples: 11 * 64 });

    const resumed = model('tiny-bn', 77).model;
    const rest = await fit(resumed, train, { ...options, resume: dir });
    expect(rest.resumedFrom).toMatchObject({ epoch: 1, batch: 11 });
    expect(rest.steps).toBe(full.steps);
    expect(rest.stopped).toBeNull();
    expect(rest.history).toHaveLength(2);
    for (const [i, logs] of rest.history.entries()) {
      const { samplesPerSecond: _a, epochSeconds: _b, ...same } = logs;
      const { samplesPerSecond: _c, epochSeconds: _d, ...expected } = full.history[i];
      expect(same, `epoch ${i + 1}`).toEqual(expected);
    }
    expect(await flatWeights(resumed)).toEqual(await flatWeights(straight));
    for (const m of [straight, first, resumed]) m.dispose();
  });

  it('refuses to resume inside an epoch cut into other batches', async () => {
    const dir = join(root, 'cut');
    const m = model('tiny-bn', 3).model;
    await fit(m, train, {
      ...options,
      epochs: 1,
      callbacks: [
        modelCheckpoint({ dir, save: 'last' }),
        { onBatchEnd: (b, _l, ctx) => (b === 4 ? ctx.stop('stop') : undefined) },
      ],
    });
    expect((await readCheckpoint(dir)).state.position?.batch).toBe(5);
    const err = await fit(m, train, { ...options, batchSize: 32, resume: dir }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CheckpointError);
    expect((err as Error).message).toMatch(
      /saved inside epoch 1 at batch 5 of 29 \(batch size 64\); this run has 57 batches of 32 per epoch/,
    );
    m.dispose();
  });
});

describe('non-finite losses are never checkpointed', () => {
  it('keeps the last finite last/ when the loss goes NaN, stopped at an epoch end or between batches', async () => {
    for (const checkEvery of [1, 50]) {
      const dir = join(root, `nan-${checkEvery}`);
      const m = model('tiny-bn', 3).model;
      const r = await fit(m, train, {
        ...options,
        callbacks: [
          {
            onBatchEnd: (batch, _logs, ctx) => {
              if (ctx.epoch !== 1 || batch !== 2) return;
              const dense = ctx.model.layers[ctx.model.layers.length - 1];
              const [kernel, bias] = dense.getWeights();
              const nan = tf.fill(kernel.shape, Number.NaN);
              dense.setWeights([nan, bias]);
              nan.dispose();
            },
          },
          nanGuard({ checkEvery, log: () => {} }),
          modelCheckpoint({ dir, save: 'both' }),
        ],
      });
      expect(r.stopped?.reason, `checkEvery ${checkEvery}`).toMatch(/loss became NaN or infinite at epoch 2/);
      const last = await readCheckpoint(dir);
      expect(last.state.epoch, `checkEvery ${checkEvery}`).toBe(1);
      expect(last.state.position).toBeUndefined();
      expect(last.state.history.map((h) => Number.isFinite(h.loss))).toEqual([true]);
      m.dispose();
    }
  });
});

describe('a checkpoint write killed between its two renames', () => {
  it('is recovered on read from the previous version, with a notice; a live writer is left alone', async () => {
    const dir = join(root, 'renames');
    const m = model('tiny-bn', 3).model;
    await fit(m, train, { ...options, epochs: 1, callbacks: [modelCheckpoint({ dir, save: 'last' })] });
    m.dispose();
    // What writeDirAtomic leaves when killed after moving last/ aside and before moving the new one in.
    const dead = 2 ** 30 + 11;
    await rename(join(dir, 'last'), join(dir, `.last.old-${process.pid}-0badc0de`));
    await expect(readCheckpoint(dir, { onNotice: () => {} })).rejects.toThrow(/not a checkpoint directory/);
    await rename(join(dir, `.last.old-${process.pid}-0badc0de`), join(dir, `.last.old-${dead}-0badc0de`));
    const notices: string[] = [];
    for (const where of [dir, join(dir, 'last')]) {
      if (where !== dir) await rename(join(dir, 'last'), join(dir, `.last.old-${dead}-0badc0de`));
      const ckpt = await readCheckpoint(where, { onNotice: (n) => notices.push(n) });
      expect(ckpt.state.epoch).toBe(1);
      expect(ckpt.dir).toBe(join(dir, 'last'));
    }
    expect(notices).toHaveLength(2);
    expect(notices[0]).toMatch(
      /last was missing: a checkpoint write was stopped between its two renames; recovered the previous checkpoint from \.last\.old-\d+-0badc0de/,
    );
    expect((await readdir(dir)).sort()).toEqual(['last']);
  });
});
