import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { registerWasmTrainingKernels } from '../register.js';
import { onBackend, randomArray, relativeError } from '../testing/helpers.js';
import { forEachTap, guarded, wasmSimdKernels } from '../testing/simd-guard.js';
import * as tf from '../tfjs.js';
import { convGeometry, convInfo } from './conv-util.js';
import {
  setWinogradEnabled,
  setWinogradInputGradPadFreeEnabled,
  setWinogradMixedEnabled,
  winogradFilterFloats,
  winogradFilterGradTakes,
  winogradForwardTakes,
  winogradInputGradTakes,
} from './conv-winograd.js';
import type { SimdKernels } from './simd.js';

const TOLERANCE = 1e-3;

/** [batch, h, w, ci, co, pad] of a 3×3 stride-1 convolution. */
type Case = [number, number, number, number, number, 'same' | 'valid'];

/**
 * Every 3×3 convolution of the Keras family and vgg-cifar10 with 16 or more input channels, at
 * small batches, then odd ones: odd and non-square images (a last tile row or column past the
 * output), 'valid' padding, channels that are not a multiple of 4 or of the 16-channel block.
 */
const CASES: Case[] = [
  [2, 14, 14, 32, 64, 'same'],
  [2, 7, 7, 64, 64, 'same'],
  [3, 3, 3, 64, 64, 'same'],
  [1, 32, 32, 32, 32, 'same'],
  [2, 16, 16, 32, 64, 'same'],
  [1, 16, 16, 64, 64, 'same'],
  [2, 8, 8, 64, 128, 'same'],
  [1, 8, 8, 128, 128, 'same'],
  [3, 9, 11, 18, 21, 'same'],
  [2, 10, 7, 17, 33, 'valid'],
  [2, 5, 6, 23, 20, 'valid'],
  [1, 5, 5, 16, 40, 'same'],
];

function describeCase([n, h, w, ci, co, pad]: Case): string {
  return `x[${n},${h},${w},${ci}] 3×3 → ${co}, pad ${pad}`;
}

function geometry([n, h, w, ci, co, pad]: Case) {
  return convGeometry(convInfo([n, h, w, ci], [3, 3, ci, co], { strides: 1, pad }));
}

/** y, dx and dW of a case for a fixed upstream gradient on the active backend. */
function convForwardAndDx([n, h, w, ci, co, pad]: Case, seed: number): tf.Tensor[] {
  const x = tf.tensor4d(randomArray(n * h * w * ci, seed), [n, h, w, ci]);
  const f = tf.tensor4d(randomArray(9 * ci * co, seed + 1), [3, 3, ci, co]);
  const conv = (a: tf.Tensor, b: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, pad);
  const y = conv(x, f);
  const dy = tf.tensor(randomArray(y.size, seed + 2), y.shape);
  return [y, ...tf.grads(conv)([x, f], dy)];
}

describe('Winograd F(2×2, 3×3) and F(4×4, 3×3) convolutions match the cpu backend', () => {
  beforeAll(async () => {
    await registerWasmTrainingKernels();
  });
  afterEach(() => setWinogradEnabled(true));

  CASES.forEach((c, i) => {
    it(describeCase(c), async () => {
      const g = geometry(c);
      expect(winogradForwardTakes(g)).toBe(true);
      expect(winogradInputGradTakes(g)).toBe(g.ci > 16);
      expect(winogradFilterGradTakes(g)).toBe(true);
      const seed = 900 + 13 * i;
      const cpu = await onBackend('cpu', () => convForwardAndDx(c, seed));
      // Each layer's own tile, then each tile forced (where its tiles pay on this shape).
      for (const tile of [undefined, 2, 4] as const) {
        setWinogradEnabled(true, tile);
        const wino = await onBackend('wasm', () => convForwardAndDx(c, seed));
        ['y', 'dx', 'dW'].forEach((name, j) => {
          expect(wino[j].length, name).toBe(cpu[j].length);
          expect(relativeError(wino[j], cpu[j]), `${name}, tile ${tile}`).toBeLessThan(TOLERANCE);
        });
      }
    });
  });

  it('runs the mixed tiles on every output with edges within the tolerance', async () => {
    // 14×14, 7×7, 3×3 and the 'valid' 3×4 output (one shape: 3×4) take them; the others have a
    // side of 1 past their last whole 4, or none.
    setWinogradMixedEnabled(true, true);
    try {
      for (const i of [0, 1, 2, 10]) {
        const c = CASES[i];
        const seed = 300 + i;
        const cpu = await onBackend('cpu', () => convForwardAndDx(c, seed));
        const wino = await onBackend('wasm', () => convForwardAndDx(c, seed));
        ['y', 'dx', 'dW'].forEach((name, j) => {
          expect(relativeError(wino[j], cpu[j]), `${name}, ${describeCase(c)}`).toBeLessThan(TOLERANCE);
        });
      }
    } finally {
      setWinogradMixedEnabled(true);
    }
  });

  it('leaves outputs too small for its tiles to the direct kernels', () => {
    // 1×1: 9 direct products against a tile's 16 (2×2) or 36 (4×4); 2×2 takes one 2×2 tile.
    expect(winogradForwardTakes(geometry([2, 1, 1, 64, 64, 'same']))).toBe(false);
    expect(winogradInputGradTakes(geometry([2, 1, 1, 64, 64, 'same']))).toBe(false);
    expect(winogradForwardTakes(geometry([2, 2, 2, 64, 64, 'same']))).toBe(true);
    // keras-deep's 3×3 layer: one 4×4 tile saves 2.25×, 2×2 tiles only 1.27×.
    expect(winogradForwardTakes(geometry([2, 3, 3, 64, 64, 'same']))).toBe(true);
    setWinogradEnabled(true, 2);
    expect(winogradForwardTakes(geometry([2, 3, 3, 64, 64, 'same']))).toBe(false);
    // The filter gradient has F(4×4) tiles only: forced F(2×2) leaves it to the wide kernel.
    expect(winogradForwardTakes(geometry(CASES[0]))).toBe(true);
    expect(winogradFilterGradTakes(geometry(CASES[0]))).toBe(false);
  });

  it('turns the filter gradient off alone (same results within tolerance)', async () => {
    const c = CASES[1];
    const wino = await onBackend('wasm', () => convForwardAndDx(c, 11));
    setWinogradEnabled(true, undefined, false);
    expect(winogradForwardTakes(geometry(c))).toBe(true);
    expect(winogradFilterGradTakes(geometry(c))).toBe(false);
    const wide = await onBackend('wasm', () => convForwardAndDx(c, 11));
    expect(relativeError(wino[2], wide[2])).toBeLessThan(TOLERANCE);
  });

  it('reads dy unpadded for the input gradient, bit for bit the padded copy', async () => {
    // The cases above ran it unpadded (the default); 'same' and 'valid' padding here.
    for (const c of [CASES[0], CASES[8], CASES[9]]) {
      expect(winogradInputGradTakes(geometry(c))).toBe(true);
      const free = await onBackend('wasm', () => convForwardAndDx(c, 17));
      setWinogradInputGradPadFreeEnabled(false);
      try {
        const copied = await onBackend('wasm', () => convForwardAndDx(c, 17));
        expect(new Uint32Array(free[1].buffer)).toEqual(new Uint32Array(copied[1].buffer));
      } finally {
        setWinogradInputGradPadFreeEnabled(true);
      }
    }
  });

  it('can be turned off, which gives the direct kernels back (same results within tolerance)', async () => {
    const c = CASES[0];
    const wino = await onBackend('wasm', () => convForwardAndDx(c, 7));
    setWinogradEnabled(false);
    expect(winogradForwardTakes(geometry(c))).toBe(false);
    expect(winogradInputGradTakes(geometry(c))).toBe(false);
    expect(winogradFilterGradTakes(geometry(c))).toBe(false);
    const direct = await onBackend('wasm', () => convForwardAndDx(c, 7));
    wino.forEach((t, j) => {
      expect(relativeError(t, direct[j])).toBeLessThan(TOLERANCE);
    });
  });
});

describe('Winograd kernels called directly', () => {
  let simd: SimdKernels;
  beforeAll(async () => {
    simd = await wasmSimdKernels();
  });

  /**
   * `lenet_conv_winograd` with m × m tiles on x [n, h, w, ci] (padded by `top`, `left` unstored
   * rows and columns; oh × ow outputs) and filter `w` to `co` channels, with `bias` (or none),
   * `act` and `pool` as its epilogue, into `outFloats` floats checked for writes past them.
   */
  function winograd(
    d: {
      n: number;
      h: number;
      w: number;
      ci: number;
      co: number;
      oh: number;
      ow: number;
      m: number;
      band: number;
    },
    x: Float32Array,
    w: Float32Array,
    epilogue: { bias: Float32Array | null; act: number; pool: number; top: number; left: number },
    outFloats: number,
    fn: 'lenet_conv_winograd' | 'lenet_conv_winograd_interior' = 'lenet_conv_winograd',
  ) {
    const { n, h, w: width, ci, co, oh, ow, m, band } = d;
    const p = (m + 2) * (m + 2);
    const work = band * Math.ceil(ow / m) * p * ci + p * 32;
    const { bias, act, pool, top, left } = epilogue;
    const { out, guardsIntact } = guarded(
      simd,
      [
        x,
        w,
        bias ?? new Float32Array(1),
        new Float32Array(winogradFilterFloats(ci, co)),
        new Float32Array(work),
        new Float32Array(outFloats),
      ],
      ([px, pw, pb, pu, pwork, po]) => {
        simd.fn.lenet_wino_filter(pw, pu, ci, co, 0, m);
        const b = bias === null ? 0 : pb;
        simd.fn[fn](px, pu, po, n, h, width, ci, oh, ow, co, m, band, pwork, b, act, pool, top, left);
      },
    );
    return { out: out[5], guardsIntact };
  }
  const PLAIN = { bias: null, act: 0, pool: -1, top: 0, left: 0 };

  // [n, hp, wp, ci, co, band]: odd output sizes (a last tile half outside), a partial channel
  // block, a channel count that is not a multiple of 4, bands that do not divide the tile rows.
  const DIRECT: number[][] = [
    [2, 9, 8, 5, 21, 2],
    [1, 7, 9, 17, 16, 1],
    [2, 6, 6, 16, 35, 3],
  ];
  for (const [n, hp, wp, ci, co, band] of DIRECT)
    for (const m of [2, 4]) {
      it(`the F(${m}×${m}, 3×3) kernel writes exactly its output (x[${n},${hp},${wp},${ci}] → ${co}, band ${band})`, () => {
        const [oh, ow] = [hp - 2, wp - 2];
        const x = randomArray(n * hp * wp * ci, 1);
        const w = randomArray(9 * ci * co, 2);
        const expected = new Float32Array(n * oh * ow * co);
        forEachTap([n, hp, wp, ci, co, 3], (xi, wi, yi) => {
          expected[yi] += x[xi] * w[wi];
        });
        const dims = { n, h: hp, w: wp, ci, co, oh, ow, m, band };
        const { out, guardsIntact } = winograd(dims, x, w, PLAIN, expected.length);
        expect(guardsIntact).toBe(true);
        expect(relativeError(out, expected)).toBeLessThan(m === 4 ? 1e-4 : 1e-5);
      });
    }

  // Each tile's epilogue: + bias, relu, then a 2×2/2 max or average pooling (none: -1),
  // against the same steps on the convolution's exact output. Odd outputs (a pooled row and
  // column dropped, a tile half outside), channels that are not a multiple of 4 or 16.
  const EPILOGUE: [number, number, number, number, number, number, number][] = [
    // [n, hp, wp, ci, co, band, pool]
    [2, 9, 8, 17, 21, 2, 0],
    [1, 11, 9, 16, 35, 3, 1],
    [2, 10, 10, 18, 16, 1, -1],
    [1, 5, 7, 16, 18, 1, 0],
  ];
  for (const [n, hp, wp, ci, co, band, pool] of EPILOGUE)
    for (const m of [2, 4])
      it(`the F(${m}×${m}) kernel's bias, relu and pooling ${pool} epilogue (x[${n},${hp},${wp},${ci}] → ${co})`, () => {
        const [oh, ow] = [hp - 2, wp - 2];
        const x = randomArray(n * hp * wp * ci, 5);
        const w = randomArray(9 * ci * co, 6);
        const bias = randomArray(co, 7);
        const conv = new Float32Array(n * oh * ow * co);
        forEachTap([n, hp, wp, ci, co, 3], (xi, wi, yi) => {
          conv[yi] += x[xi] * w[wi];
        });
        const act = conv.map((v, i) => Math.max(0, v + bias[i % co]));
        const [ph, pw] = pool < 0 ? [oh, ow] : [Math.floor(oh / 2), Math.floor(ow / 2)];
        const expected = new Float32Array(n * ph * pw * co);
        if (pool < 0) expected.set(act);
        else
          expected.forEach((_, i) => {
            const c = i % co;
            const px = Math.floor(i / co) % pw;
            const py = Math.floor(i / co / pw) % ph;
            const b = Math.floor(i / co / pw / ph);
            const at = (dy: number, dx: number) => act[((b * oh + 2 * py + dy) * ow + 2 * px + dx) * co + c];
            const win = [at(0, 0), at(0, 1), at(1, 0), at(1, 1)];
            expected[i] = pool === 0 ? Math.max(...win) : (win[0] + win[1] + win[2] + win[3]) / 4;
          });
        const dims = { n, h: hp, w: wp, ci, co, oh, ow, m, band };
        const { out, guardsIntact } = winograd(dims, x, w, { ...PLAIN, bias, act: 1, pool }, expected.length);
        expect(guardsIntact).toBe(true);
        expect(relativeError(out, expected)).toBeLessThan(1e-4);
      });

  // [n, h, w, ci, co, band, top, left]: the input unpadded, its 'same' padding (or an uneven one)
  // read as zeros by the kernel: odd and non-square outputs, both tiles.
  const UNPADDED: number[][] = [
    [2, 7, 6, 17, 21, 2, 1, 1],
    [1, 9, 10, 16, 18, 1, 1, 0],
    [2, 8, 8, 18, 16, 3, 0, 1],
  ];
  for (const [n, h, w, ci, co, band, top, left] of UNPADDED)
    for (const m of [2, 4]) {
      it(`the F(${m}×${m}) kernel reads an unpadded input (x[${n},${h},${w},${ci}] → ${co}, padding ${top}, ${left})`, () => {
        const [oh, ow] = [h + 2 * top - 2, w + 2 * left - 2];
        const [hp, wp] = [h + 2 * top, w + 2 * left];
        const x = randomArray(n * h * w * ci, 8);
        const xp = new Float32Array(n * hp * wp * ci);
        for (let b = 0; b < n; b++)
          for (let y = 0; y < h; y++) {
            const from = (b * h + y) * w * ci;
            xp.set(x.subarray(from, from + w * ci), ((b * hp + y + top) * wp + left) * ci);
          }
        const wt = randomArray(9 * ci * co, 9);
        const expected = new Float32Array(n * oh * ow * co);
        forEachTap([n, hp, wp, ci, co, 3], (xi, wi, yi) => {
          expected[yi] += xp[xi] * wt[wi];
        });
        const dims = { n, h, w, ci, co, oh, ow, m, band };
        const { out, guardsIntact } = winograd(dims, x, wt, { ...PLAIN, top, left }, expected.length);
        expect(guardsIntact).toBe(true);
        expect(relativeError(out, expected)).toBeLessThan(1e-4);
      });
    }

  // [n, h, w, ci, co, band, top, left, pool]: lenet_conv_winograd_interior against
  // lenet_conv_winograd, bit for bit: tiles inside the image and the output (its bound-free
  // loads and stores) and at their edges, odd tile counts in a band, channels not a multiple of
  // 4 or 16, with and without the epilogue, padded and unpadded inputs.
  const INTERIOR: number[][] = [
    [2, 18, 18, 32, 32, 2, 1, 1, -1],
    [1, 16, 16, 32, 48, 3, 1, 1, 0],
    [2, 13, 11, 16, 35, 2, 0, 0, 1],
    [1, 20, 14, 17, 21, 1, 1, 0, -1],
    [2, 9, 9, 24, 16, 4, 0, 0, 0],
  ];
  for (const [n, h, w, ci, co, band, top, left, pool] of INTERIOR)
    for (const m of [2, 4])
      it(`the F(${m}×${m}) kernel's bound-free interior tiles are its checked ones bit for bit (x[${n},${h},${w},${ci}] → ${co}, pool ${pool})`, () => {
        const [oh, ow] = [h + 2 * top - 2, w + 2 * left - 2];
        const x = randomArray(n * h * w * ci, 10);
        const wt = randomArray(9 * ci * co, 11);
        const epilogue = {
          bias: pool < 0 ? null : randomArray(co, 12),
          act: pool < 0 ? 0 : 1,
          pool,
          top,
          left,
        };
        const outFloats = n * (pool < 0 ? oh * ow : Math.floor(oh / 2) * Math.floor(ow / 2)) * co;
        const dims = { n, h, w, ci, co, oh, ow, m, band };
        const checked = winograd(dims, x, wt, epilogue, outFloats);
        const interior = winograd(dims, x, wt, epilogue, outFloats, 'lenet_conv_winograd_interior');
        expect(interior.guardsIntact).toBe(true);
        expect(checked.out.some((v) => v !== 0)).toBe(true);
        expect(interior.out).toEqual(checked.out);
      });

  // [n, h, w, ci, co, top, left, capacity]: keras-deep's outputs (14, 7, 3: edges of 2 and 3 and
  // no whole tile), edges on one side only, channels that are not a multiple of 4 or 16, odd and
  // even tile counts per call (pairs spanning images), padded (top 0) and unpadded inputs.
  const MIXED: number[][] = [
    [3, 14, 14, 32, 40, 1, 1, 16],
    [2, 7, 7, 20, 16, 1, 1, 3],
    [5, 3, 3, 16, 18, 1, 1, 16],
    [2, 10, 8, 17, 33, 1, 1, 5],
    [1, 8, 12, 16, 16, 0, 0, 2],
    [3, 4, 6, 19, 21, 0, 1, 4],
  ];
  for (const [n, h, w, ci, co, top, left, capacity] of MIXED)
    it(`the mixed-tile kernel writes exactly its output, its F(4×4) tiles bit for bit lenet_conv_winograd's (x[${n},${h},${w},${ci}] → ${co}, padding ${top}, ${left})`, () => {
      const [oh, ow] = [h + 2 * top - 2, w + 2 * left - 2];
      const x = randomArray(n * h * w * ci, 21);
      const wt = randomArray(9 * ci * co, 22);
      const [hp, wp] = [oh + 2, ow + 2];
      const xp = new Float32Array(n * hp * wp * ci);
      for (let b = 0; b < n; b++)
        for (let y = 0; y < h; y++)
          xp.set(
            x.subarray((b * h + y) * w * ci, ((b * h + y) * w + w) * ci),
            ((b * hp + y + top) * wp + left) * ci,
          );
      const expected = new Float32Array(n * oh * ow * co);
      forEachTap([n, hp, wp, ci, co, 3], (xi, wi, yi) => {
        expected[yi] += xp[xi] * wt[wi];
      });
      const work = capacity * 36 * ci + 36 * 32;
      const run = (interior: number) =>
        guarded(
          simd,
          [
            x,
            wt,
            new Float32Array(winogradFilterFloats(ci, co, oh, ow)),
            new Float32Array(work),
            new Float32Array(expected.length),
          ],
          ([px, pw, pu, pwork, po]) => {
            simd.fn.lenet_wino_filter_mixed(pw, pu, ci, co, 0, oh, ow);
            simd.fn.lenet_conv_winograd_mixed(
              px,
              pu,
              po,
              n,
              h,
              w,
              ci,
              oh,
              ow,
              co,
              capacity,
              pwork,
              top,
              left,
              interior,
            );
          },
        );
      const mixed = run(1);
      expect(mixed.guardsIntact).toBe(true);
      expect(relativeError(mixed.out[4], expected)).toBeLessThan(1e-4);
      expect(run(0).out[4]).toEqual(mixed.out[4]);
      // The outputs of whole 4×4 tiles: the plain kernel's sums.
      const plain = winograd(
        { n, h, w, ci, co, oh, ow, m: 4, band: 1 },
        x,
        wt,
        { ...PLAIN, top, left },
        expected.length,
        'lenet_conv_winograd_interior',
      ).out;
      const [th, tw] = [Math.floor(oh / 4), Math.floor(ow / 4)];
      for (let b = 0; b < n; b++)
        for (let y = 0; y < 4 * th; y++)
          for (let x0 = 0; x0 < 4 * tw; x0++) {
            const at = ((b * oh + y) * ow + x0) * co;
            expect(mixed.out[4].subarray(at, at + co)).toEqual(plain.subarray(at, at + co));
          }
    });

  // [n, hp, wp, ci, co, band]: odd outputs (a last tile row and column half outside), channels
  // that are not a multiple of 4 or 16, bands that span images and end partial.
  const FILTER_GRAD: number[][] = [
    [2, 9, 8, 17, 18, 3],
    [3, 7, 11, 23, 17, 32],
    [5, 14, 14, 16, 33, 7],
  ];
  for (const [n, hp, wp, ci, co, band] of FILTER_GRAD)
    it(`the F(4×4, 3×3) filter gradient writes exactly dW (x[${n},${hp},${wp},${ci}] → ${co}, band ${band})`, () => {
      const [oh, ow] = [hp - 2, wp - 2];
      const x = randomArray(n * hp * wp * ci, 3);
      const dy = randomArray(n * oh * ow * co, 4);
      const expected = new Float32Array(9 * ci * co);
      forEachTap([n, hp, wp, ci, co, 3], (xi, wi, yi) => {
        expected[wi] += x[xi] * dy[yi];
      });
      const co16 = Math.ceil(co / 16) * 16;
      const work = 36 * (ci * co16 + band * (ci + co16) + 32);
      const { out, guardsIntact } = guarded(
        simd,
        [x, dy, new Float32Array(expected.length), new Float32Array(work)],
        ([px, pdy, pdw, pwork]) => {
          simd.fn.lenet_conv_filter_grad_winograd(px, pdy, pdw, n, hp, wp, ci, oh, ow, co, band, pwork);
        },
      );
      expect(guardsIntact).toBe(true);
      expect(relativeError(out[2], expected)).toBeLessThan(1e-4);
    });
});
