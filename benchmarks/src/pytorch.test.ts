import { describe, expect, it } from 'vitest';
import { classifyBlas, describeBlas, torchEnv } from './pytorch.js';

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
  });
});
