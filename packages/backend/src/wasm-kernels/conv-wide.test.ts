import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { registerWasmTrainingKernels } from '../register.js';
import { onBackend, randomArray, relativeError } from '../testing/helpers.js';
import { forEachTap, guarded, wasmSimdKernels } from '../testing/simd-guard.js';
import * as tf from '../tfjs.js';
import { convGeometry, convInfo } from './conv-util.js';
import {
  packedFloats,
  setWideConvEnabled,
  wideFilterGradTakes,
  wideForwardTakes,
  wideInputGradTakes,
} from './conv-wide.js';
import type { SimdKernels } from './simd.js';

const TOLERANCE = 1e-3;

/** [batch, h, w, ci, co, k, stride, pad] */
type Case = [number, number, number, number, number, number, 1 | 2, 'same' | 'valid' | number];

/**
 * Every 3×3 'same' convolution of the Keras family and vgg-cifar10 at small batches, then odd
 * ones: channels not a multiple of the 16-channel block, strides and paddings the presets do not
 * use (the input gradient falls back there), a 5×5 filter, non-square images, and batches that
 * leave a partial chunk in the filter gradient (9 images of 3×3 pixels: chunks of 7).
 */
const CASES: Case[] = [
  [2, 28, 28, 1, 32, 3, 1, 'same'],
  [2, 14, 14, 32, 64, 3, 1, 'same'],
  [2, 7, 7, 64, 64, 3, 1, 'same'],
  [9, 3, 3, 64, 64, 3, 1, 'same'],
  [2, 32, 32, 3, 32, 3, 1, 'same'],
  [1, 32, 32, 32, 32, 3, 1, 'same'],
  [2, 16, 16, 32, 64, 3, 1, 'same'],
  [1, 16, 16, 64, 64, 3, 1, 'same'],
  [2, 8, 8, 64, 128, 3, 1, 'same'],
  [1, 8, 8, 128, 128, 3, 1, 'same'],
  [3, 9, 11, 20, 24, 3, 1, 'same'],
  [2, 10, 7, 20, 48, 3, 1, 'valid'],
  [2, 12, 12, 16, 40, 5, 1, 1],
  [2, 13, 9, 32, 32, 3, 2, 'same'],
  [2, 11, 11, 17, 33, 3, 2, 'valid'],
  [1, 6, 5, 48, 20, 5, 1, 'same'],
];

function describeCase([n, h, w, ci, co, k, s, pad]: Case): string {
  return `x[${n},${h},${w},${ci}] k${k} → ${co}, stride ${s}, pad ${pad}`;
}

function geometry([n, h, w, ci, co, k, s, pad]: Case) {
  return convGeometry(convInfo([n, h, w, ci], [k, k, ci, co], { strides: s, pad }));
}

/** y, dx and dW of a case for a fixed upstream gradient on the active backend. */
function convAll([n, h, w, ci, co, k, s, pad]: Case, seed: number): tf.Tensor[] {
  const x = tf.tensor4d(randomArray(n * h * w * ci, seed), [n, h, w, ci]);
  const f = tf.tensor4d(randomArray(k * k * ci * co, seed + 1), [k, k, ci, co]);
  const conv = (a: tf.Tensor, b: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, s, pad);
  const y = conv(x, f);
  const dy = tf.tensor(randomArray(y.size, seed + 2), y.shape);
  return [y, ...tf.grads(conv)([x, f], dy)];
}

describe('wide SIMD convolutions (over 16 channels) match the cpu backend', () => {
  beforeAll(async () => {
    await registerWasmTrainingKernels();
  });
  afterEach(() => setWideConvEnabled(true));

  CASES.forEach((c, i) => {
    it(describeCase(c), async () => {
      const g = geometry(c);
      // The cases are meant to reach the wide kernels (or their documented fallbacks).
      expect(wideForwardTakes(g)).toBe(true);
      expect(wideInputGradTakes(g)).toBe(g.sh === 1 && g.sw === 1);
      expect(wideFilterGradTakes(g)).toBe(g.co % 16 === 0);
      const seed = 500 + 11 * i;
      const cpu = await onBackend('cpu', () => convAll(c, seed));
      const wide = await onBackend('wasm', () => convAll(c, seed));
      ['y', 'dx', 'dW'].forEach((name, j) => {
        expect(wide[j].length, name).toBe(cpu[j].length);
        expect(relativeError(wide[j], cpu[j]), name).toBeLessThan(TOLERANCE);
      });
    });
  });

  it('can be turned off, which gives XNNPACK’s path back (same results within tolerance)', async () => {
    const c = CASES[1];
    const wide = await onBackend('wasm', () => convAll(c, 7));
    setWideConvEnabled(false);
    expect(wideForwardTakes(geometry(c))).toBe(false);
    const stock = await onBackend('wasm', () => convAll(c, 7));
    wide.forEach((t, j) => {
      expect(relativeError(t, stock[j])).toBeLessThan(TOLERANCE);
    });
  });
});

describe('wide SIMD convolution kernels called directly', () => {
  let simd: SimdKernels;
  beforeAll(async () => {
    simd = await wasmSimdKernels();
  });

  it('the forward kernel writes exactly its output for a partial channel block and an odd pixel count', () => {
    const [n, hp, wp, ci, co, k] = [2, 5, 6, 5, 21, 3];
    const [oh, ow] = [hp - k + 1, wp - k + 1]; // 3 × 4 = 12 pixels, then 21 = 16 + 5 channels
    const x = randomArray(n * hp * wp * ci, 1);
    const w = randomArray(k * k * ci * co, 2);
    const expected = new Float32Array(n * oh * ow * co);
    forEachTap([n, hp, wp, ci, co, k], (xi, wi, yi) => {
      expected[yi] += x[xi] * w[wi];
    });
    const { out, guardsIntact } = guarded(
      simd,
      [x, w, new Float32Array(packedFloats(k * k * ci, co)), new Float32Array(expected.length)],
      ([px, pw, pk, po]) => {
        simd.fn.lenet_pack_wide(pw, pk, k, k, ci, co, 0);
        simd.fn.lenet_conv_wide(px, pk, po, n, hp, wp, ci, oh, ow, co, k, k, 1, 1);
      },
    );
    expect(guardsIntact).toBe(true);
    expect(relativeError(out[3], expected)).toBeLessThan(1e-5);
  });

  for (const ci of [3, 32]) {
    it(`the chunked filter gradient (${ci} input channels) writes exactly its output`, () => {
      const [n, hp, wp, co, k] = [3, 6, 7, 32, 3];
      const [oh, ow] = [hp - k + 1, wp - k + 1];
      const rows = k * k * ci;
      const x = randomArray(n * hp * wp * ci, 3);
      const dy = randomArray(n * oh * ow * co, 4);
      const expected = new Float32Array(rows * co);
      forEachTap([n, hp, wp, ci, co, k], (xi, wi, yi) => {
        expected[wi] += x[xi] * dy[yi];
      });
      const { out, guardsIntact } = guarded(
        simd,
        [x, dy, new Float32Array(rows * co).fill(9), new Float32Array(rows * co)],
        ([px, pdy, pdw, pt]) => {
          // A chunk of 16 pixels: 3 rows of 5, several chunks per image.
          const transposed = ci % 16 === 0;
          const f = simd.fn;
          f.lenet_conv_filter_grad_wide(
            px,
            pdy,
            transposed ? pt : pdw,
            n,
            hp,
            wp,
            ci,
            oh,
            ow,
            co,
            k,
            k,
            1,
            1,
            16,
            +transposed,
          );
          if (transposed) f.lenet_transpose(pt, pdw, co, rows, co);
        },
      );
      expect(guardsIntact).toBe(true);
      expect(relativeError(out[2], expected)).toBeLessThan(1e-5);
    });
  }
});
