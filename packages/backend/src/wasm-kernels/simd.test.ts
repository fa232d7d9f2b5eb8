import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { registerWasmTrainingKernels } from '../register.js';
import { onBackend, randomArray, relativeError } from '../testing/helpers.js';
import { forEachTap, guarded } from '../testing/simd-guard.js';
import * as tf from '../tfjs.js';
import { roundUp4, type SimdKernels, simdKernels, tileFloats } from './simd.js';
import { LENET_SIMD_WASM_BASE64 } from './simd-binary.js';
import { wasmSections } from './wasm-binary.js';

/** The part of the WebAssembly global used here (this package compiles without the DOM lib). */
interface ModuleDescriptor {
  module?: string;
  name: string;
  kind: string;
}
const wasmApi = (
  globalThis as unknown as {
    WebAssembly: {
      Module: {
        new (bytes: Uint8Array): object;
        imports(m: object): ModuleDescriptor[];
        exports(m: object): ModuleDescriptor[];
      };
    };
  }
).WebAssembly;

describe('the SIMD kernels module', () => {
  const bytes = Buffer.from(LENET_SIMD_WASM_BASE64, 'base64');

  it('imports only a memory and owns none of it (no data section), so it can run inside tfjs memory', () => {
    const module = new wasmApi.Module(bytes);
    expect(wasmApi.Module.imports(module)).toEqual([{ module: 'env', name: 'memory', kind: 'memory' }]);
    const ids = wasmSections(bytes).map((s) => s.id);
    expect(ids).toContain(10); // code
    expect(ids).not.toContain(11); // data
    const names = wasmApi.Module.exports(module).map((e) => e.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'lenet_conv_filter_grad',
        'lenet_conv_input_grad',
        'lenet_tanh',
        'lenet_max_pool_grad',
      ]),
    );
  });
});

describe('SIMD kernels called directly', () => {
  let simd: SimdKernels;
  let backend: BackendWasm;
  beforeAll(async () => {
    await registerWasmTrainingKernels();
    await tf.setBackend('wasm');
    backend = tf.backend() as BackendWasm;
    const k = simdKernels(backend);
    if (k === undefined) throw new Error('wasm SIMD is not available on this runtime');
    simd = k;
  });

  // Runs of kw·ci floats with 1, 2 and 3 floats past the last full vector, runs over several
  // 16-float chunks, LeNet's C3 (30 floats), odd output widths (a last unpaired pixel), strides
  // (input rows reached by fewer filter rows) and an input row and column no output reaches.
  for (const [kh, kw, ci, co, sh, sw, ow, extra] of [
    [5, 5, 1, 6, 1, 1, 4, 0],
    [3, 3, 2, 5, 1, 1, 4, 0],
    [2, 3, 1, 3, 1, 1, 4, 0],
    [3, 3, 16, 4, 1, 1, 4, 0],
    [5, 5, 3, 16, 1, 1, 4, 0],
    [5, 5, 6, 16, 1, 1, 5, 0],
    [3, 3, 3, 8, 2, 2, 3, 1],
    [5, 5, 6, 6, 2, 1, 3, 1],
    [1, 1, 7, 5, 1, 3, 5, 2],
  ]) {
    it(`conv input gradient k${kh}×${kw}, ${ci}→${co} channels, stride ${sh}×${sw}, ${ow} columns: equals a direct loop, writes only its output`, () => {
      const [n, oh] = [2, 3];
      const [hp, wp] = [(oh - 1) * sh + kh + extra, (ow - 1) * sw + kw + extra];
      const l4 = roundUp4(kw * ci);
      const dy = randomArray(n * oh * ow * co, 3);
      const w = randomArray(kh * kw * ci * co, 4);
      const expected = new Float32Array(n * hp * wp * ci);
      for (let b = 0; b < n; b++)
        for (let y = 0; y < oh; y++)
          for (let x = 0; x < ow; x++)
            for (let a = 0; a < kh; a++)
              for (let c = 0; c < kw; c++)
                for (let i = 0; i < ci; i++)
                  for (let o = 0; o < co; o++) {
                    expected[((b * hp + y * sh + a) * wp + x * sw + c) * ci + i] +=
                      dy[((b * oh + y) * ow + x) * co + o] * w[((a * kw + c) * ci + i) * co + o];
                  }
      const { out, guardsIntact } = guarded(
        simd,
        [dy, w, new Float32Array(kh * co * l4), new Float32Array(expected.length).fill(7)],
        ([pdy, pw, pwt, pdx]) => {
          simd.fn.lenet_input_grad_filter(pw, pwt, kh, kw, ci, co, l4);
          simd.fn.lenet_conv_input_grad(pdy, pwt, pdx, n, oh, ow, co, hp, wp, ci, kh, kw, sh, sw, l4);
        },
      );
      expect(guardsIntact).toBe(true);
      expect(relativeError(out[3], expected)).toBeLessThan(1e-5);
    });
  }

  // The second case has 3,450 floats of input and dy per image: more than one group of images
  // (4,096 floats), so the sums run on across groups; the third has 3 vectors of channels (blocks
  // of 2 patch rows and a last row alone).
  for (const [n, h, w, ci, co4, k] of [
    [2, 6, 7, 3, 36, 3],
    [3, 18, 17, 5, 8, 3],
    [2, 6, 7, 3, 12, 3],
  ] as const) {
    it(`conv filter gradient, ${n} images ${h}×${w}×${ci} → ${co4} channels, equals a direct loop, writes only its output`, () => {
      const [oh, ow] = [h - k + 1, w - k + 1];
      const x = randomArray(n * h * w * ci, 5);
      const dy = randomArray(n * oh * ow * co4, 6);
      const expected = new Float32Array(k * k * ci * co4);
      forEachTap([n, h, w, ci, co4, k], (xi, wi, yi) => {
        expected[wi] += x[xi] * dy[yi];
      });
      const { out, guardsIntact } = guarded(
        simd,
        [x, dy, new Float32Array(expected.length)],
        ([px, pdy, pdw]) =>
          simd.fn.lenet_conv_filter_grad(px, pdy, pdw, n, h, w, ci, oh, ow, co4, k, k, 1, 1, co4),
      );
      expect(guardsIntact).toBe(true);
      expect(relativeError(out[2], expected)).toBeLessThan(1e-5);
    });
  }

  // c 5 and 6: tiles of 20 and 12 floats, rows that end in a part tile, several blocks of 64 tiles.
  for (const [rows, c] of [
    [701, 6],
    [1014, 5],
  ] as const) {
    it(`batch-norm passes without scratch, ${rows} rows × ${c} channels: bit for bit the passes through scratch, within 1e-3 of float64`, () => {
      const t = tileFloats(c);
      const total = rows * c;
      const x = randomArray(total, 9).map((v) => 3 * v + 1);
      const dy = randomArray(total, 10);
      const tileOf = (v: ArrayLike<number>) => Float32Array.from({ length: t }, (_, k) => v[k % c]);
      // Half a unit off the batch mean: the variance path's sums then do not cancel to rounding noise.
      const mean = new Float64Array(c);
      for (let i = 0; i < total; i++) mean[i % c] += x[i] / rows;
      for (let k = 0; k < c; k++) mean[k] = Math.fround(mean[k] - 0.5);
      const [meanTile, grTile, dvarTile, dmeanTile] = [
        mean,
        randomArray(c, 11),
        randomArray(c, 12),
        randomArray(c, 13),
      ].map(tileOf);
      const f = simd.fn;
      const { out, guardsIntact } = guarded(
        simd,
        [x, dy, meanTile, grTile, dvarTile, dmeanTile].concat(
          [2 * t, 4 * t, 2 * c, total, total, total, c, c, c, c, total].map((len) => new Float32Array(len)),
        ),
        ([
          px,
          pdy,
          pm,
          pg,
          pv,
          pd,
          tiles,
          work,
          sums,
          sq,
          dxp,
          dxOld,
          varOld,
          varNew,
          pathOld,
          pathNew,
          dxNew,
        ]) => {
          const [tile, acc] = [tiles, tiles + 4 * t];
          f.lenet_sq_dev(px, pm, sq, total, c, t);
          f.lenet_sum_rows(sq, varOld, rows, c, t, rows, tile, acc);
          f.lenet_sum_sq_dev(px, pm, varNew, rows, c, t, rows, tile, acc);
          f.lenet_batch_norm_grad(px, pdy, pm, pg, dxp, sums, sums + 4 * c, total, c, t, work);
          f.lenet_bn_var_grad(px, pm, pv, sq, total, c, t);
          f.lenet_sum_rows(sq, pathOld, rows, c, t, 1, tile, acc);
          f.lenet_bn_dx_sum(dxp, sq, pd, dxOld, total, c, t);
          f.lenet_bn_var_grad_sum(px, pm, pv, pathNew, rows, c, t, tile, acc);
          f.lenet_bn_dx_fused(px, pdy, pm, pg, pv, pd, dxNew, total, c, t);
        },
      );
      expect(guardsIntact).toBe(true);
      const [, , , , , , , , , , , dxOld, varOld, varNew, pathOld, pathNew, dxNew] = out;
      expect(varNew).toEqual(varOld);
      expect(pathNew).toEqual(pathOld);
      expect(dxNew).toEqual(dxOld);
      const variance = new Float64Array(c);
      const path = new Float64Array(c);
      const dx = new Float64Array(total);
      for (let i = 0; i < total; i++) {
        const k = i % c;
        const d = x[i] - mean[k];
        variance[k] += (d * d) / rows;
        path[k] += dvarTile[k] * 2 * d;
        dx[i] = dy[i] * grTile[k] + dvarTile[k] * 2 * d + dmeanTile[k];
      }
      expect(relativeError(varNew, variance)).toBeLessThan(1e-3);
      expect(relativeError(pathNew, path)).toBeLessThan(1e-3);
      expect(relativeError(dxNew, dx)).toBeLessThan(1e-3);
    });
  }

  it('elementwise kernels handle lengths that are not a multiple of 4 and stay inside their output', () => {
    const len = 4 * 9 + 3;
    const x = randomArray(len, 7).map((v) => v * 4);
    const dy = randomArray(len, 8);
    const { out, guardsIntact } = guarded(
      simd,
      [x, dy, new Float32Array(len), new Float32Array(len), new Float32Array(len)],
      ([px, pdy, py, pt, pr]) => {
        simd.fn.lenet_tanh(px, py, len, 1, 0, 0, 0, 0);
        simd.fn.lenet_tanh_grad(px, pdy, pt, len);
        simd.fn.lenet_relu_grad(px, pdy, pr, len);
      },
    );
    expect(guardsIntact).toBe(true);
    for (let i = 0; i < len; i++) {
      expect(out[3][i]).toBeCloseTo(dy[i] * (1 - x[i] * x[i]), 5);
      expect(out[4][i] === (x[i] > 0 ? dy[i] : 0), `relu gradient at ${x[i]}`).toBe(true);
    }
  });
});

describe('SIMD activations and their gradients on wasm', () => {
  beforeAll(async () => {
    await registerWasmTrainingKernels();
  });

  // Evaluated in float32 (the JS path evaluates in float64: within 5.2e-7); 6.6e-7 measured.
  it('tanh stays within 1e-6 of Math.tanh on a dense sweep of [-20, 20] and keeps special values', async () => {
    const step = 1e-4;
    const x = new Float32Array(Math.round(40 / step) + 1).map((_, i) => -20 + i * step);
    const [y] = await onBackend('wasm', () => [tf.tanh(tf.tensor1d(x))]);
    let worst = 0;
    for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(y[i] - Math.tanh(x[i])));
    expect(worst).toBeLessThan(1e-6);
    const special = new Float32Array([0, -0, Infinity, -Infinity, 8, -8, 1e30, Number.NaN, 0.5]);
    const [s] = await onBackend('wasm', () => [tf.tanh(tf.tensor1d(special))]);
    expect(Object.is(s[0], 0)).toBe(true);
    expect(Object.is(s[1], -0)).toBe(true);
    expect(Array.from(s.subarray(2, 7))).toEqual([1, -1, 1, -1, 1]);
    expect(Number.isNaN(s[7])).toBe(true);
    expect(s[8]).toBeCloseTo(Math.tanh(0.5), 6);
  });

  it('tanh and relu gradients equal the cpu backend’s, NaN and odd lengths included, through the fused kernels', async () => {
    const x = randomArray(3 * 7 * 5, 9).map((v, i) => (i === 4 ? Number.NaN : i === 5 ? 0 : v * 3));
    const dy = randomArray(x.length, 10);
    const grads = () => {
      const t = tf.tensor3d(x, [3, 7, 5]);
      const g = tf.tensor3d(dy, [3, 7, 5]);
      return [tf.grad((a: tf.Tensor) => tf.tanh(a))(t, g), tf.grad((a: tf.Tensor) => tf.relu(a))(t, g)];
    };
    const cpu = await onBackend('cpu', grads);
    await tf.setBackend('wasm');
    const profile = await tf.profile(() => tf.tidy(grads));
    const names = profile.kernelNames;
    expect(names).toContain('LenetTanhGrad');
    expect(names).toContain('LenetReluGrad');
    const wasm = await onBackend('wasm', grads);
    for (const [i, g] of wasm.entries()) {
      expect(Number.isNaN(g[4]), `gradient ${i} at NaN input`).toBe(true);
      const finite = (a: Float32Array) => a.filter((_, j) => j !== 4);
      // Tanh's gradient differs by the forward tanh's rounding (y = our tanh vs Math.tanh on cpu).
      expect(relativeError(finite(g), finite(cpu[i])), `gradient ${i}`).toBeLessThan(i === 0 ? 1e-5 : 1e-7);
    }
  });
});
