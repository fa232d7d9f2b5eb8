import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { mnistDataDir } from '@lenet/datasets';
import type { ModelSpec } from '@lenet/models';
import { cellId, failedCell, skippedCell } from './cells/common.js';
import type { Timing } from './profiles.js';
import { type CellResult, type PublishedReference, PYTORCH_BACKEND } from './types.js';

const run = promisify(execFile);

/** The reference script (kept in src/, next to this file's source, also when run from dist/). */
export const PYTORCH_SCRIPT = fileURLToPath(new URL('../src/pytorch_ref.py', import.meta.url));

/** A Python that can `import torch`, or why there is none. */
export type PythonProbe = { ok: true; python: string; torch: string } | { ok: false; reason: string };

/**
 * Looks for a Python with torch: `$LENET_PYTHON`, then `python3` on PATH, then `/usr/bin/python3`
 * (Debian's `python3-torch` installs there, while PATH may lead to a pyenv or venv Python).
 */
export async function findTorch(): Promise<PythonProbe> {
  const candidates = [process.env.LENET_PYTHON, 'python3', '/usr/bin/python3'].filter(
    (c): c is string => typeof c === 'string' && c !== '',
  );
  for (const python of [...new Set(candidates)]) {
    try {
      const { stdout } = await run(python, ['-c', 'import torch; print(torch.__version__)'], {
        timeout: 60_000,
      });
      return { ok: true, python, torch: stdout.trim() };
    } catch {
      // try the next one
    }
  }
  return { ok: false, reason: 'torch not installed' };
}

/**
 * Thread counts PyTorch is measured with: `$LENET_BENCH_TORCH_THREADS` alone if set, else 1 and
 * every core (the issue's reference used 2 threads on 2 cores; on a busy machine one thread is
 * often faster, because idle OpenMP threads spin). Each cell keeps the faster of the two.
 */
export function torchThreadCounts(): number[] {
  const env = Number(process.env.LENET_BENCH_TORCH_THREADS);
  if (Number.isInteger(env) && env > 0) return [env];
  return [...new Set([1, availableParallelism()])];
}

interface PyStats {
  mean: number;
  p50: number;
  p99: number;
  rme: number;
  iterations: number;
}

interface PyOutput {
  torch: string;
  threads: number;
  train: Record<string, PyStats>;
  infer: Record<string, PyStats>;
}

/**
 * Measures one variant in PyTorch (CPU): training steps at `trainBatches`, inference at
 * `inferBatches`, on the same MNIST files. Returns one cell per batch size; a failure of the
 * script marks all of them failed with its message.
 */
export async function runPytorchCells(
  python: string,
  model: string,
  spec: ModelSpec,
  trainBatches: number[],
  inferBatches: number[],
  timing: Timing,
): Promise<CellResult[]> {
  const dir = await mkdtemp(join(tmpdir(), 'lenet-bench-torch-'));
  const specFile = join(dir, 'spec.json');
  const all = [
    ...trainBatches.map((b) => ({ task: 'train' as const, b })),
    ...inferBatches.map((b) => ({ task: 'infer' as const, b })),
  ];
  try {
    await writeFile(specFile, JSON.stringify(spec));
    const runs: PyOutput[] = [];
    for (const threads of torchThreadCounts()) {
      const args = [
        PYTORCH_SCRIPT,
        '--spec',
        specFile,
        '--mnist',
        mnistDataDir(),
        '--train-batches',
        trainBatches.join(','),
        '--infer-batches',
        inferBatches.join(','),
        '--iterations',
        String(timing.iterations),
        '--time',
        String(timing.timeMs / 1000),
        '--warmup',
        String(timing.warmupIterations),
        '--threads',
        String(threads),
      ];
      const { stdout } = await run(python, args, { timeout: 30 * 60_000, maxBuffer: 16 * 1024 * 1024 });
      runs.push(JSON.parse(stdout) as PyOutput);
    }
    return all.map(({ task, b }) => {
      const measured = runs
        .map((out) => ({ out, s: out[task][String(b)] }))
        .filter((r): r is { out: PyOutput; s: PyStats } => r.s !== undefined)
        .map((r) => ({ ...r, sps: (b * 1000) / r.s.mean }));
      if (measured.length === 0) {
        return failedCell(task, model, PYTORCH_BACKEND, b, new Error('no result from pytorch_ref.py'));
      }
      const best = measured.reduce((x, y) => (y.sps > x.sps ? y : x));
      const others = measured
        .filter((m) => m !== best)
        .map(
          (m) => `${m.out.threads} thread${m.out.threads === 1 ? '' : 's'}: ${Math.round(m.sps)} samples/s`,
        );
      const s = best.s;
      return {
        id: cellId(task, model, PYTORCH_BACKEND, b),
        task,
        model,
        backend: PYTORCH_BACKEND,
        batch: b,
        status: 'ok',
        samplesPerSec: best.sps,
        latencyMs: { mean: s.mean, p50: s.p50, p99: s.p99 },
        rme: s.rme,
        iterations: s.iterations,
        note: `torch ${best.out.torch}, ${best.out.threads} thread${best.out.threads === 1 ? '' : 's'}${others.length ? ` (faster than ${others.join(', ')})` : ''}`,
      } satisfies CellResult;
    });
  } catch (err) {
    const e = err as { stderr?: string; message?: string };
    const lines = (e.stderr ?? '').trim().split('\n');
    const why = new Error(`pytorch_ref.py failed: ${lines[lines.length - 1] || e.message}`);
    return all.map(({ task, b }) => failedCell(task, model, PYTORCH_BACKEND, b, why));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Cells for a missing PyTorch: skipped with the reason. */
export function pytorchSkipped(
  model: string,
  trainBatches: number[],
  inferBatches: number[],
  reason: string,
) {
  return [
    ...trainBatches.map((b) => skippedCell('train', model, PYTORCH_BACKEND, b, reason)),
    ...inferBatches.map((b) => skippedCell('infer', model, PYTORCH_BACKEND, b, reason)),
  ];
}

/** Machine the issue's published reference figures were measured on. */
export const PUBLISHED_MACHINE = 'the issue author’s 2-core machine (PyTorch 1.13, 2 threads)';

/**
 * The issue's published figures, used for the ratio column when PyTorch is not installed:
 * PyTorch 1.13 CPU trains classic LeNet-5 at about 15,600 samples/s and the BN+dropout preset at
 * about 7,300 (batch 64, 2 threads, on a 2-core machine).
 */
export const PUBLISHED: PublishedReference[] = [
  { model: 'lenet5-classic', task: 'train', batch: 64, samplesPerSec: 15600, source: PUBLISHED_MACHINE },
  { model: 'torch-bn', task: 'train', batch: 64, samplesPerSec: 7300, source: PUBLISHED_MACHINE },
];
