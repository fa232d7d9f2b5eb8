import { beforeAll, describe, expect, it } from 'vitest';
import { TrainError } from './errors.js';
import { clipGradients, globalNorm } from './gradients.js';
import { createOptimizer, type OptimizerConfig, resolveOptimizerConfig } from './optimizers.js';
import * as tf from './tfjs.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** Runs `steps` updates of `config` on w (a 2x1 kernel, so weight decay applies) with fixed grads. */
function run(config: OptimizerConfig, grads: number[][], lr: number): number[] {
  const w = tf.variable(tf.tensor2d([[1], [-2]]));
  const opt = createOptimizer(config, [w]);
  for (const g of grads) tf.tidy(() => opt.apply([tf.tensor2d(g, [2, 1])], lr));
  const out = Array.from(w.dataSync());
  opt.dispose();
  w.dispose();
  return out;
}

/** Reference implementations on plain numbers (PyTorch update rules). */
function reference(config: OptimizerConfig, grads: number[][], lr: number): number[] {
  const c = resolveOptimizerConfig(config);
  const w = [1, -2];
  const m = [0, 0];
  const v = [0, 0];
  const buf = [0, 0];
  grads.forEach((g0, k) => {
    const t = k + 1;
    for (let i = 0; i < 2; i++) {
      let g = g0[i];
      if (c.name !== 'adamw') g += c.weightDecay * w[i];
      if (c.name === 'sgd') {
        buf[i] = c.momentum * buf[i] + g;
        const u = c.momentum > 0 ? (c.nesterov ? g + c.momentum * buf[i] : buf[i]) : g;
        w[i] -= lr * u;
      } else if (c.name === 'rmsprop') {
        v[i] = c.rho * v[i] + (1 - c.rho) * g * g;
        const s = g / (Math.sqrt(v[i]) + c.epsilon);
        buf[i] = c.momentum * buf[i] + s;
        w[i] -= lr * (c.momentum > 0 ? buf[i] : s);
      } else {
        if (c.name === 'adamw') w[i] *= 1 - lr * c.weightDecay;
        m[i] = c.beta1 * m[i] + (1 - c.beta1) * g;
        v[i] = c.beta2 * v[i] + (1 - c.beta2) * g * g;
        const mh = m[i] / (1 - c.beta1 ** t);
        const denom = Math.sqrt(v[i]) / Math.sqrt(1 - c.beta2 ** t) + c.epsilon;
        w[i] -= (lr * mh) / denom;
      }
    }
  });
  return w;
}

const grads = [
  [0.5, -1],
  [0.25, 2],
  [-1, 0.1],
];

describe('optimizers', () => {
  const configs: OptimizerConfig[] = [
    { name: 'sgd' },
    { name: 'sgd', momentum: 0.9 },
    { name: 'sgd', momentum: 0.9, nesterov: true },
    { name: 'sgd', momentum: 0.5, weightDecay: 0.1 },
    { name: 'adam' },
    { name: 'adam', weightDecay: 0.1 },
    { name: 'adamw', weightDecay: 0.1 },
    { name: 'rmsprop' },
    { name: 'rmsprop', momentum: 0.9 },
  ];
  for (const config of configs) {
    it(`${JSON.stringify(config)} matches the PyTorch update rule`, () => {
      const got = run(config, grads, 0.1);
      const want = reference(config, grads, 0.1);
      got.forEach((g, i) => {
        expect(g).toBeCloseTo(want[i], 5);
      });
    });
  }

  it('does not decay biases (rank-1 weights)', () => {
    const b = tf.variable(tf.tensor1d([1, 1]));
    const opt = createOptimizer({ name: 'adamw', weightDecay: 0.5 }, [b]);
    tf.tidy(() => opt.apply([tf.zeros([2])], 0.1));
    expect(Array.from(b.dataSync())).toEqual([1, 1]);
    opt.dispose();
    b.dispose();
  });

  it('creates its state up front and restores it exactly', () => {
    const w = tf.variable(tf.tensor2d([[1], [2]]));
    const before = tf.memory().numTensors;
    const opt = createOptimizer('adam', [w]);
    expect(opt.slots.map((s) => s.name)).toEqual(['0/m', '0/v']);
    expect(tf.memory().numTensors).toBe(before + 2);
    tf.tidy(() => opt.apply([tf.tensor2d([[1], [1]])], 0.1));
    expect(tf.memory().numTensors).toBe(before + 2);
    const values = opt.slots.map((s) => tf.clone(s.tensor));
    const w2 = tf.variable(tf.tensor2d([[1], [2]]));
    const opt2 = createOptimizer('adam', [w2]);
    opt2.restore(opt.iterations, values);
    expect(opt2.iterations).toBe(1);
    expect(Array.from(opt2.slots[0].tensor.dataSync())).toEqual(Array.from(opt.slots[0].tensor.dataSync()));
    expect(() => opt2.restore(1, values.slice(1))).toThrow(/optimizer state has 1 tensors, expected 2/);
    tf.dispose([...values, w, w2]);
    opt.dispose();
    opt2.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('rejects unknown names and bad hyper-parameters', () => {
    expect(() => resolveOptimizerConfig({ name: 'adagrad' as 'adam' })).toThrow(
      /unknown optimizer "adagrad"; expected one of adam, adamw, sgd, rmsprop/,
    );
    expect(() => resolveOptimizerConfig({ name: 'adam', learningRate: 0 })).toThrow(TrainError);
    expect(() => resolveOptimizerConfig({ name: 'sgd', momentum: 1 })).toThrow(
      /momentum must be in \[0, 1\)/,
    );
    expect(() => resolveOptimizerConfig({ name: 'sgd', nesterov: true })).toThrow(/nesterov needs/);
    expect(resolveOptimizerConfig('sgd').learningRate).toBe(0.01);
    expect(resolveOptimizerConfig('adamw').weightDecay).toBe(0.01);
  });
});

describe('gradient clipping', () => {
  it('scales by global norm only when above the limit', () => {
    tf.tidy(() => {
      const g = [tf.tensor1d([3, 0]), tf.tensor1d([0, 4])];
      expect(globalNorm(g).dataSync()[0]).toBeCloseTo(5, 6);
      const clipped = clipGradients(g, { clipNorm: 1 });
      expect(Array.from(clipped[0].dataSync())).toEqual([expect.closeTo(0.6, 6), 0]);
      expect(Array.from(clipped[1].dataSync())).toEqual([0, expect.closeTo(0.8, 6)]);
      const same = clipGradients(g, { clipNorm: 10 });
      expect(Array.from(same[1].dataSync())).toEqual([0, 4]);
      const byValue = clipGradients(g, { clipValue: 2 });
      expect(Array.from(byValue[1].dataSync())).toEqual([0, 2]);
    });
  });
});
