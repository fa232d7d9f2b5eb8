import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Dataset } from '@lenet/datasets';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Callback,
  type EpochLogs,
  earlyDropout,
  earlyStopping,
  fit,
  historyToCsv,
  historyWriter,
  learningRateLogger,
  modelCheckpoint,
  nanGuard,
  progressBar,
  readCheckpoint,
} from './index.js';
import { mnistHead, model, useWasm } from './testing/helpers.js';
import * as tf from './tfjs.js';

let root: string;
let train: Dataset;
beforeAll(async () => {
  await useWasm();
  root = await mkdtemp(join(tmpdir(), 'lenet-train-cb-'));
  train = await mnistHead('train', 256);
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

function sink(isTTY: boolean): {
  write(s: string): boolean;
  isTTY: boolean;
  columns: number;
  text: () => string;
} {
  const chunks: string[] = [];
  return {
    isTTY,
    columns: 200,
    write(s: string) {
      chunks.push(s);
      return true;
    },
    text: () => chunks.join(''),
  };
}

/** A callback that sets the output kernel to NaN right after (0-based) epoch `e`, batch `b`. */
function poisonAt(e: number, b: number): Callback {
  return {
    onBatchEnd: (batch, _logs, ctx) => {
      if (ctx.epoch !== e || batch !== b) return undefined;
      const dense = ctx.model.layers[ctx.model.layers.length - 1];
      const [kernel, bias] = dense.getWeights();
      const nan = tf.fill(kernel.shape, Number.NaN);
      dense.setWeights([nan, bias]);
      nan.dispose();
      return undefined;
    },
  };
}

describe('progressBar', () => {
  it('prints plain periodic lines and an epoch summary when not a TTY', async () => {
    const out = sink(false);
    const { model: m } = model('tiny');
    await fit(m, train, {
      epochs: 2,
      batchSize: 64,
      validation: { fraction: 0.25 },
      callbacks: [progressBar({ stream: out, everyBatches: 1 })],
    });
    const lines = out.text().trim().split('\n');
    expect(lines).toHaveLength(2 * (2 + 1));
    expect(lines[0]).toMatch(
      /^epoch 1\/2 batch 1\/3 \| loss \d\.\d{4} \| acc \d\.\d{4} \| \d+ samples\/s \| ETA [\d.]+s$/,
    );
    expect(lines[2]).toMatch(
      /^epoch 1\/2 \| loss \d\.\d{4} \| acc \d\.\d{4} \| val_loss \d\.\d{4} \| val_acc \d\.\d{4} \| lr 1\.00e-3 \| \d+ samples\/s \| [\d.]+s$/,
    );
    expect(lines[5]).toMatch(/^epoch 2\/2 \| loss/);
    m.dispose();
  });

  it('draws a bar on a TTY, and falls back to lines when CI is set', async () => {
    const tty = sink(true);
    const { model: m } = model('tiny');
    // The bar is what a developer's terminal gets: CI itself sets CI=true, so clear it here.
    const savedCi = process.env.CI;
    delete process.env.CI;
    try {
      await fit(m, train, {
        epochs: 1,
        batchSize: 64,
        callbacks: [progressBar({ stream: tty, refreshSeconds: 0 })],
      });
    } finally {
      if (savedCi !== undefined) process.env.CI = savedCi;
    }
    expect(tty.text()).toMatch(
      /epoch 1\/1 .* 4\/4 \| loss \d\.\d{4} \| acc \d\.\d{4} \| \d+ samples\/s \| ETA/,
    );
    expect(tty.text()).toMatch(/epoch 1\/1 \| loss \d\.\d{4} \| acc/);
    const ci = sink(true);
    const saved = process.env.CI;
    process.env.CI = 'true';
    try {
      await fit(m, train, {
        epochs: 1,
        batchSize: 64,
        callbacks: [progressBar({ stream: ci, everyBatches: 2 })],
      });
    } finally {
      if (saved === undefined) delete process.env.CI;
      else process.env.CI = saved;
    }
    expect(ci.text()).not.toContain('\x1B');
    expect(ci.text().trim().split('\n')).toHaveLength(2);
    m.dispose();
  });
});

describe('earlyStopping', () => {
  it('stops after patience epochs without improvement and restores the best weights', async () => {
    const { model: m } = model('tiny');
    let bestWeights: number[] = [];
    const es = earlyStopping({ monitor: 'loss', patience: 2, restoreBestWeights: true });
    // Poison the weights after epoch 1 so that loss gets worse from epoch 2 on.
    const record: Callback = {
      onEpochEnd: async (e, _logs, ctx) => {
        if (e === 1) bestWeights = Array.from(await ctx.model.getWeights()[0].data());
        return undefined;
      },
    };
    const r = await fit(m, train, {
      epochs: 10,
      batchSize: 64,
      callbacks: [record, es, poisonAt(2, 0)],
    });
    expect(es.bestEpoch).toBe(1);
    expect(r.epochsCompleted).toBe(4);
    expect(es.stoppedEpoch).toBe(3);
    expect(r.stopped?.reason).toMatch(
      /^early stopping: loss has not improved for 2 epochs \(best \d\.\d+ at epoch 2\)$/,
    );
    expect(Array.from(await m.getWeights()[0].data())).toEqual(bestWeights);
    m.dispose();
  });

  it('refuses to watch validation metrics without validation data', async () => {
    const { model: m } = model('tiny');
    await expect(
      fit(m, train, { epochs: 1, callbacks: [earlyStopping({ monitor: 'valAccuracy' })] }),
    ).rejects.toThrow(/earlyStopping monitors valAccuracy but fit was given no validation data/);
    m.dispose();
  });
});

describe('earlyDropout', () => {
  it('keeps dropout for the first epochs only, then restores the rates', async () => {
    const { model: m } = model('tiny-bn');
    const drop = m.layers.find((l) => l.getClassName() === 'Dropout') as unknown as { rate: number };
    const seen: number[] = [];
    const probe: Callback = {
      onBatchEnd: (b) => {
        if (b === 0) seen.push(drop.rate);
        return undefined;
      },
    };
    await fit(m, train, { epochs: 3, batchSize: 128, callbacks: [earlyDropout({ epochs: 2 }), probe] });
    expect(seen).toEqual([0.25, 0.25, 0]);
    expect(drop.rate).toBe(0.25);
    expect(() => earlyDropout({ epochs: -1 })).toThrow(/earlyDropout epochs must be a non-negative integer/);
    m.dispose();
  });
});

describe('nanGuard', () => {
  it('stops with a message naming the epoch and batch where the loss first went NaN', async () => {
    for (const checkEvery of [1, 50]) {
      const { model: m } = model('tiny');
      const messages: string[] = [];
      const guard = nanGuard({ checkEvery, log: (s) => messages.push(s) });
      const r = await fit(m, train, { epochs: 5, batchSize: 32, callbacks: [poisonAt(1, 2), guard] });
      const expected = 'loss became NaN or infinite at epoch 2, batch 4 (step 12); stopping';
      expect(messages).toEqual([expected]);
      expect(guard.message).toBe(expected);
      expect(r.stopped).toEqual({ reason: expected, epoch: 1 });
      expect(r.epochsCompleted).toBe(checkEvery === 1 ? 1 : 2);
      m.dispose();
    }
  });
});

describe('history, learning-rate log and checkpoints', () => {
  it('writes history JSON/CSV, logs lr per epoch and step, and keeps best/last checkpoints', async () => {
    const dir = join(root, 'run');
    const { model: m, spec } = model('tiny');
    const perEpoch = learningRateLogger();
    const printed: string[] = [];
    const perStep = learningRateLogger({ every: 'step', log: (s) => printed.push(s) });
    const ckpt = modelCheckpoint({ dir: join(dir, 'ckpt'), monitor: 'valAccuracy' });
    const r = await fit(m, train, {
      epochs: 3,
      batchSize: 64,
      spec,
      validation: { fraction: 0.25 },
      schedule: { type: 'step', stepEpochs: 1, gamma: 0.1 },
      callbacks: [historyWriter(dir), perEpoch, perStep, ckpt],
    });
    const json = JSON.parse(await readFile(join(dir, 'history.json'), 'utf8')) as EpochLogs[];
    // The files number epochs from 1, as the progress bar and the run report do.
    expect(json).toEqual(r.history.map((h) => ({ ...h, epoch: h.epoch + 1 })));
    const csv = await readFile(join(dir, 'history.csv'), 'utf8');
    expect(csv).toBe(historyToCsv(r.history));
    expect(
      csv
        .trim()
        .split('\n')
        .slice(1)
        .map((row) => row.split(',')[0]),
    ).toEqual(['1', '2', '3']);
    expect(perEpoch.records.map((x) => x.lr)).toEqual([1e-3, 1e-4, expect.closeTo(1e-5, 12)]);
    expect(perStep.records).toHaveLength(9);
    expect(printed[0]).toBe('lr epoch 1 step 1: 1.0000e-3');
    const last = await readCheckpoint(join(dir, 'ckpt', 'last'));
    expect(last.state.epoch).toBe(3);
    expect(last.state.history).toEqual(r.history);
    expect(last.state.spec?.name).toBe('tiny');
    const best = await readCheckpoint(join(dir, 'ckpt', 'best'));
    expect(best.state.epoch).toBe(ckpt.bestEpoch + 1);
    const accs = r.history.map((h) => h.valAccuracy ?? 0);
    expect(accs[ckpt.bestEpoch]).toBe(Math.max(...accs));
    m.dispose();
  });
});
