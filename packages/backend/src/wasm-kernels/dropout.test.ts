import { beforeAll, describe, expect, it } from 'vitest';
import { registerWasmTrainingKernels } from '../register.js';
import { randomArray } from '../testing/helpers.js';
import * as tf from '../tfjs.js';
import { LENET_DROPOUT_MASK } from './dropout.js';

function mask(shape: number[], rate: number, seed: number): Float32Array {
  return tf.tidy(() => {
    const attrs = { shape, rate, seed } as unknown as tf.NamedAttrMap;
    return (tf.engine().runKernel(LENET_DROPOUT_MASK, {}, attrs) as tf.Tensor).dataSync() as Float32Array;
  });
}

describe('the wasm dropout mask kernel and tfjs-layers Dropout on wasm', () => {
  beforeAll(async () => {
    await registerWasmTrainingKernels();
    await tf.setBackend('wasm');
  });

  it('keeps 1 − rate of the elements, scaled by 1/(1 − rate), the same for a seed and not across seeds', () => {
    for (const rate of [0.25, 0.5, 0.75]) {
      const m = mask([64, 28, 28, 6], rate, 12345);
      const keep = 1 - rate;
      const kept = m.filter((v) => v !== 0);
      expect(kept.every((v) => v === Math.fround(1 / keep))).toBe(true);
      // 301,056 draws: the kept fraction is within 0.5 points of 1 − rate (~10 standard deviations).
      expect(Math.abs(kept.length / m.length - keep)).toBeLessThan(0.005);
      const again = mask([64, 28, 28, 6], rate, 12345);
      expect(again.every((v, i) => v === m[i])).toBe(true);
      const other = mask([64, 28, 28, 6], rate, 12346);
      const same = other.filter((v, i) => (v === 0) === (m[i] === 0)).length / m.length;
      // Independent masks agree on keep² + rate² of the elements.
      expect(Math.abs(same - (keep * keep + rate * rate))).toBeLessThan(0.01);
    }
    // Odd sizes work too.
    const odd = mask([7], 0.5, 1);
    expect(odd.length).toBe(7);
    expect(() => mask([3], 1, 1)).toThrow(/0 < rate < 1/);
  });

  it('makes Dropout in training x·mask with the gradient dy·mask, leaves inference alone, and leaks nothing', () => {
    const layer = tf.layers.dropout({ rate: 0.5, seed: 7 });
    const x = tf.tensor2d(
      randomArray(40 * 30, 3).map((v) => v + 2),
      [40, 30],
    );
    const before = tf.memory().numTensors;
    const [y, dx] = tf.tidy(() => {
      const out = layer.apply(x, { training: true }) as tf.Tensor;
      const g = tf.grad((a: tf.Tensor) => tf.sum(layer.apply(a, { training: true }) as tf.Tensor))(x);
      return [out.dataSync(), g.dataSync()];
    });
    expect(tf.memory().numTensors).toBe(before);
    const xs = x.dataSync();
    for (let i = 0; i < xs.length; i++) {
      const m = y[i] / xs[i];
      expect(m === 0 || Math.abs(m - 2) < 1e-6).toBe(true);
      // Same seed, same mask: the gradient of sum(y) is the mask.
      expect(dx[i]).toBeCloseTo(m, 5);
    }
    const inference = layer.apply(x, { training: false }) as tf.Tensor;
    expect(Array.from(inference.dataSync())).toEqual(Array.from(xs));
    tf.dispose([x, inference]);
  });

  it('draws exactly the mask tfjs draws for the same seed (its Alea numbers, its float32 arithmetic)', async () => {
    const x = randomArray(64 * 13 * 13 * 6 + 3, 21);
    for (const [rate, seed] of [
      [0.75, 1771494937],
      [0.5, 12345],
      [0.3, 7],
      [0.1, 4294967295],
    ]) {
      await tf.setBackend('cpu');
      const cpu = tf.tidy(() => tf.dropout(tf.tensor1d(x), rate, undefined, seed).dataSync());
      await tf.setBackend('wasm');
      const layer = tf.layers.dropout({ rate, seed });
      const wasm = tf.tidy(() => (layer.apply(tf.tensor1d(x), { training: true }) as tf.Tensor).dataSync());
      let differ = 0;
      for (let i = 0; i < x.length; i++) if (!Object.is(cpu[i], wasm[i])) differ++;
      expect(differ, `rate ${rate} seed ${seed}`).toBe(0);
    }
  });
});
