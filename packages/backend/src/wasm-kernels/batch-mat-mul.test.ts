import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerWasmTrainingKernels } from '../register.js';
import { onBackend, randomArray, relativeError } from '../testing/helpers.js';
import * as tf from '../tfjs.js';
import { setSimdKernelsEnabled } from './simd.js';

const TOLERANCE = 1e-3;

interface MatMulCase {
  batch: number | null;
  m: number;
  k: number;
  n: number;
  transposeA: boolean;
  transposeB: boolean;
}

function cases(): MatMulCase[] {
  const out: MatMulCase[] = [];
  const shapes: Array<[number | null, number, number, number]> = [
    [null, 64, 400, 120],
    [null, 7, 5, 3],
    [3, 6, 9, 4],
    [null, 5, 84, 10], // rows and columns not multiples of the SIMD blocks
    [2, 9, 17, 21],
  ];
  for (const [batch, m, k, n] of shapes) {
    for (const transposeA of [false, true]) {
      for (const transposeB of [false, true]) out.push({ batch, m, k, n, transposeA, transposeB });
    }
  }
  return out;
}

function operands(c: MatMulCase, seed: number): [tf.Tensor, tf.Tensor] {
  const lead = c.batch === null ? [] : [c.batch];
  const aShape = [...lead, ...(c.transposeA ? [c.k, c.m] : [c.m, c.k])];
  const bShape = [...lead, ...(c.transposeB ? [c.n, c.k] : [c.k, c.n])];
  const size = (s: number[]) => s.reduce((p, d) => p * d, 1);
  return [
    tf.tensor(randomArray(size(aShape), seed), aShape),
    tf.tensor(randomArray(size(bShape), seed + 1), bShape),
  ];
}

for (const simd of [true, false]) {
  describe(`wasm BatchMatMul matches the cpu backend (SIMD kernels ${simd ? 'on' : 'off'})`, () => {
    beforeAll(async () => {
      expect(await registerWasmTrainingKernels()).toContain('BatchMatMul');
      setSimdKernelsEnabled(simd);
    });
    afterAll(() => setSimdKernelsEnabled(true));

    cases().forEach((c, i) => {
      it(`batch ${c.batch ?? '-'} [${c.m}x${c.k}]·[${c.k}x${c.n}] tA ${c.transposeA} tB ${c.transposeB}`, async () => {
        const run = () => {
          const [a, b] = operands(c, 40 + 7 * i);
          const y = tf.matMul(a, b, c.transposeA, c.transposeB);
          // The dense-layer gradient path: both backward products use transposed operands.
          const dy = tf.tensor(randomArray(y.size, 99 + i), y.shape);
          const [da, db] = tf.grads((p: tf.Tensor, q: tf.Tensor) =>
            tf.matMul(p, q, c.transposeA, c.transposeB),
          )([a, b], dy);
          return [y, da, db];
        };
        const cpu = await onBackend('cpu', run);
        const before = tf.memory().numTensors;
        const wasm = await onBackend('wasm', run);
        expect(tf.memory().numTensors).toBe(before);
        expect(wasm[0].length).toBe((c.batch ?? 1) * c.m * c.n);
        for (let j = 0; j < 3; j++) expect(relativeError(wasm[j], cpu[j])).toBeLessThan(TOLERANCE);
      });
    });
  });
}

describe('wasm _FusedMatMul (dense layers) matches the cpu backend', () => {
  beforeAll(async () => {
    await registerWasmTrainingKernels();
  });

  const FUSED: Array<[number, number, number, boolean, boolean, 'linear' | 'relu' | 'elu']> = [
    [64, 400, 120, false, false, 'linear'],
    [64, 120, 84, true, false, 'relu'],
    [7, 13, 10, false, true, 'relu'],
    [5, 9, 6, true, true, 'linear'],
    [6, 8, 5, false, false, 'elu'], // not ours: the stock kernel
  ];
  FUSED.forEach(([m, k, n, withBias, transposeB, activation], i) => {
    it(`[${m}x${k}]·[${k}x${n}]${withBias ? ' + bias' : ''}${transposeB ? ' (B transposed)' : ''}, ${activation}`, async () => {
      const run = () => {
        const a = tf.tensor2d(randomArray(m * k, 500 + i), [m, k]);
        const b = tf.tensor2d(randomArray(k * n, 510 + i), transposeB ? [n, k] : [k, n]);
        const bias = withBias ? tf.tensor1d(randomArray(n, 520 + i)) : undefined;
        const dy = tf.tensor2d(randomArray(m * n, 530 + i), [m, n]);
        const f = (p: tf.Tensor, q: tf.Tensor) =>
          tf.fused.matMul({ a: p as tf.Tensor2D, b: q as tf.Tensor2D, transposeB, bias, activation });
        return [f(a, b), ...tf.grads(f)([a, b], dy)];
      };
      const cpu = await onBackend('cpu', run);
      const wasm = await onBackend('wasm', run);
      for (let j = 0; j < 3; j++)
        expect(relativeError(wasm[j], cpu[j]), `output ${j}`).toBeLessThan(TOLERANCE);
    });
  });
});
