import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { inferShapes } from '@lenet/models';
import { describe, expect, it } from 'vitest';
import { VARIANTS } from './profiles.js';
import { classifyBlas, describeBlas, findTorch, PYTORCH_SCRIPT, torchEnv } from './pytorch.js';
import { PytorchServer } from './pytorch-server.js';
import { variantSpec } from './variants.js';

const torch = await findTorch();

// The PyTorch column is optional (a machine without torch shows it as skipped); so is this check.
describe.skipIf(!torch.ok)('pytorch_ref.py builds the same nets (needs a Python with torch)', () => {
  it('gives every variant of the matrix the parameter count @lenet/models gives it', async () => {
    if (!torch.ok) return;
    const specs = VARIANTS.map((name) => variantSpec(name));
    const dir = await mkdtemp(join(tmpdir(), 'lenet-torch-params-'));
    try {
      const file = join(dir, 'specs.json');
      await writeFile(file, JSON.stringify(specs));
      const { stdout } = await promisify(execFile)(
        torch.python,
        [PYTORCH_SCRIPT, '--count-params', '--spec', file],
        { env: torchEnv(1), timeout: 60_000 },
      );
      const counts = JSON.parse(stdout) as number[];
      // torchsummary's count: BatchNorm's moving statistics are buffers, not parameters
      expect(Object.fromEntries(VARIANTS.map((n, i) => [n, counts[i]]))).toEqual(
        Object.fromEntries(specs.map((s, i) => [VARIANTS[i], inferShapes(s).torchParams])),
      );
      expect(counts[VARIANTS.indexOf('folder-lenet50')]).toBe(1_760_818);
      expect(counts[VARIANTS.indexOf('mlp2')]).toBe(79_510);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe.skipIf(!torch.ok)('pytorch_ref.py --serve (needs a Python with torch)', () => {
  it('times training steps and forward passes, keeps serving after a bad spec, and forgets on reset', async () => {
    if (!torch.ok) return;
    const server = await PytorchServer.start(torch.python, 1);
    try {
      const spec = variantSpec('mlp2');
      const timing = { iterations: 3, timeMs: 0, warmupIterations: 1 };
      const train = await server.time(spec, 'train', 8, 1, timing);
      expect(train.torch).toBe(torch.torch);
      expect(train.threads).toBe(1);
      expect(train.samples).toHaveLength(3);
      for (const ms of train.samples) expect(ms).toBeGreaterThan(0);
      expect((await server.time(spec, 'infer', 8, 1, timing)).samples).toHaveLength(3);
      const bad = { ...spec, layers: [{ type: 'lstm', units: 4 }] } as unknown as typeof spec;
      await expect(server.time(bad, 'train', 8, 1, timing)).rejects.toThrow(
        'pytorch_ref.py: ValueError: layer 0: unsupported type lstm',
      );
      await server.reset();
      expect((await server.time(spec, 'infer', 8, 1, timing)).samples).toHaveLength(3);
    } finally {
      await server.close();
    }
  }, 120_000);
});

describe('PyTorch reference BLAS', () => {
  it('tells OpenBLAS, MKL and BLIS from the reference BLAS by the mapped library', () => {
    expect(classifyBlas(['/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3'])).toEqual({
      kind: 'openblas',
      library: '/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3',
    });
    expect(classifyBlas(['/opt/conda/lib/libmkl_rt.so.2']).kind).toBe('mkl');
    expect(classifyBlas(['/usr/lib/x86_64-linux-gnu/blis-openmp/libblas.so.3']).kind).toBe('blis');
    expect(
      classifyBlas([
        '/usr/lib/x86_64-linux-gnu/blas/libblas.so.3',
        '/usr/lib/x86_64-linux-gnu/lapack/liblapack.so.3',
      ]),
    ).toEqual({
      kind: 'reference',
      library: '/usr/lib/x86_64-linux-gnu/blas/libblas.so.3',
    });
    expect(classifyBlas([])).toEqual({ kind: 'unknown' });
    expect(classifyBlas(['/somewhere/libcustomblas.so']).kind).toBe('unknown');
  });

  it('warns in the environment line when PyTorch runs on the reference BLAS', () => {
    const ref = describeBlas({ kind: 'reference', library: '/usr/lib/x86_64-linux-gnu/blas/libblas.so.3' });
    expect(ref).toMatch(/^reference \(netlib\) BLAS \(\/usr\/lib\/x86_64-linux-gnu\/blas\/libblas\.so\.3\)/);
    expect(ref).toContain('flatter TensorFlow.js');
    expect(ref).toContain('libopenblas0-pthread');
    expect(describeBlas({ kind: 'openblas', library: '/x/libopenblas.so.0' })).toBe(
      'openblas BLAS (/x/libopenblas.so.0)',
    );
  });

  it('keeps BLAS on one thread and gives torch the asked-for threads', () => {
    const env = torchEnv(2);
    expect(env.OMP_NUM_THREADS).toBe('2');
    expect(env.OPENBLAS_NUM_THREADS).toBe('1');
    expect(env.MKL_NUM_THREADS).toBe('1');
    expect(env.PATH).toBe(process.env.PATH);
    // glibc's malloc keeps freed memory instead of returning (and faulting in again) each step's.
    expect(env.MALLOC_MMAP_THRESHOLD_).toBe('33554432');
    expect(env.MALLOC_TRIM_THRESHOLD_).toBe('4294967296');
  });
});
