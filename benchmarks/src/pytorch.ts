import { execFile } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { cellId, failedCell, skippedCell } from './cells/common.js';
import { latencyOf, samplesPerSecond } from './measure.js';
import { type CellResult, type CellTask, type PublishedReference, PYTORCH_BACKEND } from './types.js';

const run = promisify(execFile);

/** The reference script (kept in src/, next to this file's source, also when run from dist/). */
export const PYTORCH_SCRIPT = fileURLToPath(new URL('../src/pytorch_ref.py', import.meta.url));

/** A Python that can `import torch`, or why there is none. */
export type PythonProbe =
  | { ok: true; python: string; torch: string; blas: BlasInfo }
  | { ok: false; reason: string };

/**
 * The BLAS library torch's dense layers run on. Debian's `python3-torch` is built against the
 * generic `libblas.so.3`, which is netlib's reference BLAS unless an optimised one (OpenBLAS,
 * BLIS, MKL) is installed: with the reference BLAS, `addmm`/`mm` take over half of a LeNet-5
 * step and PyTorch trains ~2.5× slower, which would make every ratio to it flatter us.
 */
export interface BlasInfo {
  /** `openblas`, `mkl`, `blis`, `reference` (netlib) or `unknown`. */
  kind: 'openblas' | 'mkl' | 'blis' | 'reference' | 'unknown';
  /** The shared library actually mapped into the Python process (real path), if one was found. */
  library?: string;
}

// Loads torch, runs one matmul so that the BLAS library is mapped, and reports which one it is.
const PROBE = `
import json, os, torch
torch.ones(8, 8) @ torch.ones(8, 8)
libs = set()
with open('/proc/self/maps') as f:
    for line in f:
        p = line.split()[-1]
        n = os.path.basename(p).lower()
        if p.startswith('/') and ('blas' in n or 'mkl' in n or 'blis' in n):
            libs.add(os.path.realpath(p))
print(json.dumps({'torch': torch.__version__, 'blas': sorted(libs)}))
`;

/** Classifies the BLAS libraries a Python process mapped (real paths). */
export function classifyBlas(libraries: string[]): BlasInfo {
  const pick = (re: RegExp) => libraries.find((l) => re.test(l.toLowerCase()));
  const openblas = pick(/openblas/);
  if (openblas) return { kind: 'openblas', library: openblas };
  const mkl = pick(/mkl/);
  if (mkl) return { kind: 'mkl', library: mkl };
  const blis = pick(/blis/);
  if (blis) return { kind: 'blis', library: blis };
  // Debian's netlib BLAS lives at .../blas/libblas.so.3 (the alternatives' default).
  const reference = pick(/\/blas\/libblas\.so/);
  if (reference) return { kind: 'reference', library: reference };
  return libraries[0] ? { kind: 'unknown', library: libraries[0] } : { kind: 'unknown' };
}

/** One line on the BLAS for the environment list, with a warning where it slows PyTorch down. */
export function describeBlas(blas: BlasInfo): string {
  const where = blas.library ? ` (${blas.library})` : '';
  if (blas.kind === 'reference') {
    return `reference (netlib) BLAS${where}: PyTorch's dense layers run several times slower than with OpenBLAS, so ratios to it flatter TensorFlow.js; install an optimised BLAS (Debian: apt install libopenblas0-pthread)`;
  }
  return `${blas.kind} BLAS${where}`;
}

/**
 * Environment of the reference script: BLAS libraries keep to one thread, because torch already
 * runs its intra-op thread pool and a second, OpenBLAS's own, fights it for the same cores (on 2
 * cores, torch at 2 threads with OpenBLAS at 2 threads trained LeNet-5 at 4,400 samples/s; with
 * OpenBLAS at 1 thread at 14,200). And glibc's malloc keeps what torch frees: with its default,
 * dynamic thresholds a long-lived process came to hand the megabyte-sized activations of a
 * batch-256 step back to the system and fault them in again every step (LeNet-5's b256 step 60–78
 * ms against 13–14 ms with these two settings, rounds of one run each; PyTorch's own tuning guide
 * advises jemalloc or tcmalloc for the same reason). A caller's own settings win.
 */
export function torchEnv(threads: number): NodeJS.ProcessEnv {
  return {
    MALLOC_MMAP_THRESHOLD_: String(32 * 1024 * 1024),
    MALLOC_TRIM_THRESHOLD_: String(4 * 1024 * 1024 * 1024),
    ...process.env,
    OMP_NUM_THREADS: String(threads),
    OPENBLAS_NUM_THREADS: '1',
    MKL_NUM_THREADS: '1',
    BLIS_NUM_THREADS: '1',
  };
}

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
      const { stdout } = await run(python, ['-c', PROBE], { timeout: 60_000, env: torchEnv(1) });
      const out = JSON.parse(stdout) as { torch: string; blas: string[] };
      return { ok: true, python, torch: out.torch, blas: classifyBlas(out.blas) };
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
  return benchThreadCounts('LENET_BENCH_TORCH_THREADS');
}

/** The count the environment variable `name` sets alone, else 1 and every core (see {@link torchThreadCounts}). */
export function benchThreadCounts(name: string): number[] {
  const env = Number(process.env[name]);
  if (Number.isInteger(env) && env > 0) return [env];
  return [...new Set([1, availableParallelism()])];
}

/**
 * PyTorch's cell from its timed iterations per thread count (ms each, pooled over rounds where it
 * was measured in rounds): the faster thread count's figures, the other named in the note, then
 * `how` (how it was timed).
 */
export function pytorchCell(
  task: CellTask,
  model: string,
  batch: number,
  byThreads: ReadonlyMap<number, readonly number[]>,
  torch: string,
  how: string,
): CellResult {
  const measured = [...byThreads]
    .filter(([, samples]) => samples.length > 0)
    .map(([threads, samples]) => {
      const m = latencyOf(samples);
      return { threads, m, sps: samplesPerSecond(batch, m.latencyMs.mean) };
    });
  if (measured.length === 0) {
    return failedCell(
      task,
      model,
      PYTORCH_BACKEND,
      batch,
      new Error('pytorch_ref.py gave no timed iterations'),
    );
  }
  const best = measured.reduce((x, y) => (y.sps > x.sps ? y : x));
  const threadsText = (t: number) => `${t} thread${t === 1 ? '' : 's'}`;
  const others = measured
    .filter((x) => x !== best)
    .map((x) => `${threadsText(x.threads)}: ${Math.round(x.sps)} samples/s`);
  return {
    id: cellId(task, model, PYTORCH_BACKEND, batch),
    task,
    model,
    backend: PYTORCH_BACKEND,
    batch,
    status: 'ok',
    samplesPerSec: best.sps,
    latencyMs: best.m.latencyMs,
    rme: best.m.rme,
    iterations: best.m.iterations,
    note: `torch ${torch}, ${threadsText(best.threads)}${others.length ? ` (faster than ${others.join(', ')})` : ''}; ${how}`,
  };
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
