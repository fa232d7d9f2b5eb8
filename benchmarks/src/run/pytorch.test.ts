import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { getPreset } from '@lenet/models';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureEnvironment } from '../env.js';
import { QUICK } from '../profiles.js';
import { PytorchServer } from '../pytorch-server.js';
import { writeFakePython } from '../testing/fake-python.js';
import { syntheticMnistPair } from '../testing/fixtures.js';
import { BenchRun } from './context.js';
import { PARTNER_SETTLE_MS, pytorchPhase } from './pytorch.js';

// These run everywhere: a stand-in for Python speaks pytorch_ref.py's protocol (see fake-python.ts).
// pytorch.test.ts beside the sources checks the real script where torch is installed.
let dir: string;
let python: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lenet-fake-torch-'));
  python = await writeFakePython(dir);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const spec = getPreset('mlp2').spec;
const timing = { iterations: 4, timeMs: 0, warmupIterations: 1 };

describe('PytorchServer', () => {
  it('answers timing requests in order, and an error reply as an error naming the script', async () => {
    const server = await PytorchServer.start(python, 2);
    try {
      const [a, b] = await Promise.all([
        server.time(spec, 'train', 64, 1, timing),
        server.time(spec, 'infer', 256, 2, timing),
      ]);
      expect(a).toEqual({ torch: '9.9-fake', threads: 1, samples: [2, 2, 2, 2] });
      expect(b.samples).toEqual([1, 1, 1, 1]);
      await expect(server.time(spec, 'train', 13, 1, timing)).rejects.toThrow(
        'pytorch_ref.py: ValueError: batch 13 is unlucky',
      );
      // The process keeps serving after an error reply.
      expect((await server.time(spec, 'train', 64, 1, timing)).threads).toBe(1);
      await server.reset();
    } finally {
      await server.close();
    }
    const requests = (await readFile(join(dir, 'requests.log'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(requests[0]).toMatchObject({
      task: 'train',
      batch: 64,
      threads: 1,
      iterations: 4,
      time: 0,
      warmup: 1,
    });
    expect(requests[1]).toMatchObject({ task: 'infer', batch: 256, threads: 2 });
    // One spec file for one spec, however many requests name it.
    expect(new Set(requests.filter((r) => r.spec).map((r) => r.spec)).size).toBe(1);
    expect(requests.at(-1)).toEqual({ reset: true });
  });

  it('fails every later request with the last line the process wrote to stderr when it dies', async () => {
    const server = await PytorchServer.start(python, 1);
    try {
      await expect(server.time(spec, 'train', 99, 1, timing)).rejects.toThrow(
        /pytorch_ref\.py --serve .*Segmentation fault in fake torch/,
      );
      await expect(server.time(spec, 'train', 64, 1, timing)).rejects.toThrow(/pytorch_ref\.py --serve/);
    } finally {
      await server.close();
    }
  });

  it('ends a process that does not answer in time, and fails the request saying so', async () => {
    const server = await PytorchServer.start(python, 1, 300);
    try {
      await expect(server.time(spec, 'train', 77, 1, timing)).rejects.toThrow(
        'pytorch_ref.py --serve did not answer within 0.3 s',
      );
      await expect(server.time(spec, 'train', 64, 1, timing)).rejects.toThrow(/pytorch_ref\.py --serve/);
    } finally {
      await server.close();
    }
  });
});

describe('pytorchPhase', () => {
  it('builds a cell timed in rounds from the rounds of all its partners, times the others on their own, and records failures', async () => {
    // The stand-in takes 2 / threads ms per batch; the bench tries 1 thread and every core.
    const fastest = availableParallelism() >= 2 ? 1 : 2;
    const saved = process.env.LENET_PYTHON;
    process.env.LENET_PYTHON = python;
    const run = new BenchRun(
      {
        profile: { ...QUICK, pairedRounds: 3 },
        models: ['mlp2'],
        backends: ['wasm', 'wasm-1w', 'pytorch-cpu'],
        batchSizes: [64, 256, 13],
        tasks: ['train'],
      },
      () => {},
      captureEnvironment(),
      syntheticMnistPair(10),
      (m) => getPreset(m).spec,
    );
    const phase = pytorchPhase(run);
    try {
      await phase.start();
      expect(run.env.pytorch).toMatch(/^torch 9\.9-fake via .*fake-python\.mjs, openblas BLAS/);
      expect(run.env.pytorch).toContain(
        "3 rounds alternating with the first TensorFlow.js backend's same cell and with each measured epoch of fit's cells, 100 ms idle after each of its rounds",
      );
      const partner = phase.partner('train', 'mlp2', 64, 'wasm');
      expect(partner?.rounds).toBe(3);
      const perRound = [];
      for (let i = 0; i < 3; i++) {
        const t0 = performance.now();
        perRound.push(await partner!.round(i));
        // Each round leaves the machine idle before the partner's next one is timed.
        expect(performance.now() - t0).toBeGreaterThanOrEqual(PARTNER_SETTLE_MS - 1);
      }
      expect(perRound).toEqual([fastest, fastest, fastest]);
      // fit's column pairs the same PyTorch cell with its two measured epochs.
      const fitPartner = phase.partner('train', 'mlp2', 64, 'wasm-1w');
      for (let i = 0; i < 2; i++) await fitPartner!.round(i);
      await phase.model('mlp2');
    } finally {
      await phase.finish();
      if (saved === undefined) delete process.env.LENET_PYTHON;
      else process.env.LENET_PYTHON = saved;
    }
    const [paired, alone, failed] = run.cells;
    expect(paired).toMatchObject({ id: 'train/mlp2/pytorch-cpu/b64', status: 'ok' });
    expect(paired.note).toMatch(/; 5 rounds alternating with wasm and wasm-1w's cells$/);
    // QUICK's PyTorch timing is 3 iterations: one per round of 3, per thread count; 5 rounds pooled.
    expect(paired.iterations).toBe(5);
    expect(paired.samplesPerSec).toBeCloseTo((64 * 1000) / fastest, 6);
    expect(alone).toMatchObject({ id: 'train/mlp2/pytorch-cpu/b256', status: 'ok', iterations: 3 });
    expect(alone.note).toMatch(/; timed on its own$/);
    expect(failed).toMatchObject({ id: 'train/mlp2/pytorch-cpu/b13', status: 'failed' });
    expect(failed.reason).toBe('pytorch_ref.py: ValueError: batch 13 is unlucky');
    expect(phase.reference().kind).toBe('measured');
  });
});
