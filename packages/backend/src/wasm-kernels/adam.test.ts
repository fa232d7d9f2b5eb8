import { beforeAll, describe, expect, it } from 'vitest';
import { registerFusedOptimizerKernels, registerWasmTrainingKernels } from '../register.js';
import { randomArray, relativeError } from '../testing/helpers.js';
import * as tf from '../tfjs.js';
import { type AdamUpdateAttrs, adamUpdateArrays, fusedAdamUpdate, LENET_ADAM_UPDATE } from './adam.js';

/** The update rule on plain numbers (float64), written out independently of the kernel. */
function reference(
  w: Float32Array,
  g: Float32Array,
  m: Float32Array,
  v: Float32Array,
  a: AdamUpdateAttrs,
): [number[], number[], number[]] {
  const outW: number[] = [];
  const outM: number[] = [];
  const outV: number[] = [];
  for (let i = 0; i < w.length; i++) {
    const grad = g[i] + a.coupledDecay * w[i];
    const mi = a.beta1 * m[i] + (1 - a.beta1) * grad;
    const vi = a.beta2 * v[i] + (1 - a.beta2) * grad ** 2;
    const denom = Math.sqrt(vi) / Math.sqrt(a.bc2) + a.epsilon;
    const base = w[i] * (1 - a.lr * a.decoupledDecay);
    outW.push(base - ((a.lr / a.bc1) * mi) / denom);
    outM.push(mi);
    outV.push(vi);
  }
  return [outW, outM, outV];
}

function attrsAt(t: number, decoupledDecay: number, coupledDecay: number): AdamUpdateAttrs {
  const beta1 = 0.9;
  const beta2 = 0.999;
  return {
    lr: 0.01,
    beta1,
    beta2,
    epsilon: 1e-7,
    bc1: 1 - beta1 ** t,
    bc2: 1 - beta2 ** t,
    decoupledDecay,
    coupledDecay,
  };
}

const SHAPES: number[][] = [[], [1], [7], [3, 5], [13, 17], [5, 5, 1, 6], [120, 84]];
const VARIANTS: Array<[string, AdamUpdateAttrs]> = [
  ['adam t=1', attrsAt(1, 0, 0)],
  ['adam t=7', attrsAt(7, 0, 0)],
  ['adam + L2 t=3', attrsAt(3, 0, 0.1)],
  ['adamw t=5', attrsAt(5, 0.05, 0)],
  ['both decays t=2', attrsAt(2, 0.05, 0.1)],
];

interface Case {
  w: Float32Array;
  g: Float32Array;
  m: Float32Array;
  v: Float32Array;
}

function makeCase(size: number, seed: number): Case {
  return {
    w: randomArray(size, seed),
    g: randomArray(size, seed + 1).map((x) => x * 0.1),
    m: randomArray(size, seed + 2).map((x) => x * 0.05),
    // The second moment is non-negative; include exact zeros (a fresh slot).
    v: randomArray(size, seed + 3).map((x, i) => (i % 5 === 0 ? 0 : Math.abs(x) * 0.01)),
  };
}

/** Runs the kernel on `backend`; returns [w', m', v'] and checks that the inputs are unchanged. */
async function runOn(
  backend: string,
  shape: number[],
  c: Case,
  attrs: AdamUpdateAttrs,
): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const inputs = {
    w: tf.tensor(c.w, shape),
    g: tf.tensor(c.g, shape),
    m: tf.tensor(c.m, shape),
    v: tf.tensor(c.v, shape),
  };
  const outs = tf.engine().runKernel(LENET_ADAM_UPDATE, inputs, { ...attrs }) as tf.Tensor[];
  expect(outs).toHaveLength(3);
  for (const o of outs) {
    expect(o.shape).toEqual(shape);
    expect(o.dtype).toBe('float32');
  }
  const data = outs.map((o) => o.dataSync() as Float32Array);
  expect(Array.from(inputs.w.dataSync())).toEqual(Array.from(c.w));
  expect(Array.from(inputs.m.dataSync())).toEqual(Array.from(c.m));
  expect(Array.from(inputs.v.dataSync())).toEqual(Array.from(c.v));
  tf.dispose([...outs, ...Object.values(inputs)]);
  return data;
}

describe(`${LENET_ADAM_UPDATE} kernel`, () => {
  beforeAll(async () => {
    expect(await registerWasmTrainingKernels()).toContain(LENET_ADAM_UPDATE);
    expect(registerFusedOptimizerKernels()).toEqual([LENET_ADAM_UPDATE]);
    expect(tf.getKernel(LENET_ADAM_UPDATE, 'wasm')).toBeDefined();
    expect(tf.getKernel(LENET_ADAM_UPDATE, 'cpu')).toBeDefined();
  });

  let seed = 10;
  for (const shape of SHAPES) {
    for (const [label, attrs] of VARIANTS) {
      seed += 7;
      const caseSeed = seed;
      it(`${label}, shape [${shape.join(', ')}]: wasm and cpu match the formula within 1e-6`, async () => {
        const size = shape.reduce((a, b) => a * b, 1);
        const c = makeCase(size, caseSeed);
        const want = reference(c.w, c.g, c.m, c.v, attrs);
        for (const backend of ['wasm', 'cpu']) {
          const got = await runOn(backend, shape, c, attrs);
          for (let k = 0; k < 3; k++) {
            expect(relativeError(got[k], want[k]), `${backend} output ${k}`).toBeLessThan(1e-6);
          }
        }
      });
    }
  }

  it('leaves no tensors behind and frees its outputs on dispose', async () => {
    await tf.setBackend('wasm');
    const before = tf.memory().numTensors;
    const c = makeCase(10, 3);
    await runOn('wasm', [10], c, attrsAt(1, 0, 0));
    expect(tf.memory().numTensors).toBe(before);
  });

  it('fusedAdamUpdate: the kernel of the active backend as a typed function, null where there is none', async () => {
    const c = makeCase(12, 5);
    const attrs = attrsAt(3, 0.05, 0.1);
    const want = await runOn('wasm', [3, 4], c, attrs);
    const update = fusedAdamUpdate();
    if (update === null) throw new Error('wasm has no fused Adam update');
    const inputs = {
      w: tf.tensor(c.w, [3, 4]),
      g: tf.tensor(c.g, [3, 4]),
      m: tf.tensor(c.m, [3, 4]),
      v: tf.tensor(c.v, [3, 4]),
    };
    const before = tf.memory().numTensors;
    const out = update(inputs, attrs);
    expect(tf.memory().numTensors).toBe(before + 3);
    [out.w, out.m, out.v].forEach((t, k) => {
      expect(Array.from(t.dataSync()), `output ${k}`).toEqual(Array.from(want[k]));
    });
    tf.dispose([...Object.values(inputs), out.w, out.m, out.v]);
    tf.unregisterKernel(LENET_ADAM_UPDATE, 'cpu');
    try {
      await tf.setBackend('cpu');
      expect(fusedAdamUpdate()).toBeNull();
    } finally {
      registerFusedOptimizerKernels();
      await tf.setBackend('wasm');
    }
  });

  for (const backend of ['wasm', 'cpu']) {
    it(`${backend}: rejects mismatched sizes, a non-float input and a missing attribute by name`, async () => {
      await tf.setBackend(backend);
      const attrs = { ...attrsAt(1, 0, 0) };
      tf.tidy(() => {
        const w = tf.zeros([4]);
        const run =
          (inputs: tf.NamedTensorMap, a: Record<string, number> = attrs) =>
          () =>
            tf.engine().runKernel(LENET_ADAM_UPDATE, inputs, a);
        expect(run({ w, g: tf.zeros([5]), m: w, v: w })).toThrow(
          /LenetAdamUpdate: input g has shape \[5\], expected 4 elements/,
        );
        expect(run({ w, g: tf.zeros([4], 'int32'), m: w, v: w })).toThrow(
          /LenetAdamUpdate: input g must be float32, got int32/,
        );
        expect(run({ w, g: w, m: w })).toThrow(/LenetAdamUpdate: inputs w, g, m and v are required/);
        const { epsilon: _drop, ...noEps } = attrs;
        expect(run({ w, g: w, m: w, v: w }, noEps)).toThrow(
          /LenetAdamUpdate: attribute epsilon must be a finite number, got undefined/,
        );
      });
    });
  }

  it("wasm: the SIMD loop gives the JS loop's float32 rule bit for bit (odd sizes, both decays)", async () => {
    await tf.setBackend('wasm');
    for (const [size, attrs] of [
      [1, attrsAt(1, 0, 0)],
      [257, attrsAt(4, 0.05, 0)],
      [1001, attrsAt(40, 0, 0.1)],
    ] as const) {
      const c = makeCase(size, size);
      const got = await runOn('wasm', [size], c, attrs);
      // Plain arrays (not views of the wasm heap) take the JS loop.
      const want = [new Float32Array(size), new Float32Array(size), new Float32Array(size)];
      adamUpdateArrays(c.w, c.g, c.m, c.v, want[0], want[1], want[2], attrs);
      got.forEach((x, k) => {
        expect(Array.from(x), `size ${size} output ${k}`).toEqual(Array.from(want[k]));
      });
    }
  });
});
