import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Dataset } from '@lenet/datasets';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CheckpointError,
  type FitOptions,
  fit,
  historyWriter,
  modelCheckpoint,
  readCheckpoint,
} from './index.js';
import { mnistHead, model, tinyBnSpec, tinySpec, useWasm } from './testing/helpers.js';
import type * as tf from './tfjs.js';

let root: string;
let train: Dataset;
beforeAll(async () => {
  await useWasm();
  root = await mkdtemp(join(tmpdir(), 'lenet-train-resume-'));
  train = await mnistHead('train', 2000);
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function flatWeights(m: tf.LayersModel): Promise<number[]> {
  const parts = await Promise.all(m.getWeights().map((w) => w.data()));
  return parts.flatMap((p) => Array.from(p));
}

async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const f of (await readdir(dir)).sort()) out[f] = (await readFile(join(dir, f))).toString('base64');
  return out;
}

const options: FitOptions = {
  batchSize: 64,
  seed: 11,
  optimizer: { name: 'sgd', momentum: 0.9, nesterov: true },
  learningRate: 0.05,
  schedule: { type: 'cosine', warmupEpochs: 0.5 },
  augment: true,
  validation: { fraction: 0.1 },
  spec: tinyBnSpec,
};

describe('resume', () => {
  it('2 epochs + resume for 2 more ends where 4 straight epochs end', async () => {
    const straight = model('tiny-bn', 4).model;
    const full = await fit(straight, train, { ...options, epochs: 4 });

    const dir = join(root, 'run');
    const first = model('tiny-bn', 4).model;
    await fit(first, train, {
      ...options,
      epochs: 4,
      callbacks: [
        modelCheckpoint({ dir, save: 'last' }),
        { onEpochEnd: (e, _l, ctx) => (e === 1 ? ctx.stop('simulated interruption') : undefined) },
      ],
    });
    expect((await readdir(join(dir, 'last'))).sort()).toEqual([
      'model.json',
      'optimizer.bin',
      'optimizer.json',
      'state.json',
      'weights.bin',
    ]);
    const saved = await readCheckpoint(dir);
    expect(saved.state.epoch).toBe(2);
    expect(saved.state.step).toBe(2 * 29);

    // A fresh model with different initial weights: everything must come from the checkpoint.
    const resumed = model('tiny-bn', 99).model;
    const rest = await fit(resumed, train, {
      ...options,
      epochs: 4,
      resume: dir,
      callbacks: [historyWriter(dir)],
    });
    expect(rest.resumedFrom?.epoch).toBe(2);
    expect(rest.history).toHaveLength(4);
    expect(rest.steps).toBe(full.steps);
    for (let i = 0; i < 4; i++) {
      expect(rest.history[i].loss).toBeCloseTo(full.history[i].loss, 5);
      expect(rest.history[i].lr).toBeCloseTo(full.history[i].lr, 10);
      expect(rest.history[i].valAccuracy).toBeCloseTo(full.history[i].valAccuracy!, 5);
    }
    const a = await flatWeights(straight);
    const b = await flatWeights(resumed);
    let maxDiff = 0;
    for (let i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
    expect(maxDiff).toBeLessThan(1e-5);
    const csv = (await readFile(join(dir, 'history.csv'), 'utf8')).trim().split('\n');
    expect(csv).toHaveLength(5);
    expect(csv[0]).toBe(
      'epoch,loss,accuracy,valLoss,valAccuracy,valCrossEntropy,lr,samplesPerSecond,epochSeconds',
    );
    straight.dispose();
    first.dispose();
    resumed.dispose();
  });

  it('refuses an incomplete checkpoint or one for another model, and leaves it intact', async () => {
    const dir = join(root, 'bad');
    const m = model('tiny-bn', 1).model;
    await fit(m, train, { ...options, epochs: 1, callbacks: [modelCheckpoint({ dir, save: 'last' })] });
    const last = join(dir, 'last');
    const before = await snapshot(last);

    const other = model('tiny', 1).model;
    await expect(fit(other, train, { ...options, spec: tinySpec, epochs: 2, resume: dir })).rejects.toThrow(
      /checkpoint was saved for model spec "tiny-bn", which differs from the spec "tiny"/,
    );
    await expect(fit(other, train, { ...options, spec: undefined, epochs: 2, resume: dir })).rejects.toThrow(
      /a different architecture/,
    );
    await expect(fit(m, train, { ...options, optimizer: 'adam', epochs: 2, resume: dir })).rejects.toThrow(
      /checkpoint was trained with sgd, this run asks for adam/,
    );
    expect(await snapshot(last)).toEqual(before);

    await rm(join(last, 'optimizer.bin'));
    await rm(join(last, 'weights.bin'));
    const err = await fit(m, train, { ...options, epochs: 2, resume: dir }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CheckpointError);
    expect((err as Error).message).toMatch(/incomplete checkpoint: missing optimizer.bin/);
    const { 'optimizer.bin': _o, 'weights.bin': _w, ...rest } = before;
    expect(await snapshot(last)).toEqual(rest);
    m.dispose();
    other.dispose();
  });
});
