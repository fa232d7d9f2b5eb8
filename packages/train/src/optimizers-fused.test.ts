import { LENET_ADAM_UPDATE, registerFusedOptimizerKernels } from '@lenet/backend';
import { beforeAll, describe, expect, it } from 'vitest';
import { createOptimizer, createOptimizerWith, type OptimizerConfig } from './optimizers.js';
import { useWasm } from './testing/helpers.js';
import * as tf from './tfjs.js';

/** LeNet-5-like variable shapes: kernels (decayed) and biases (not), plus odd and size-1 ones. */
const SHAPES: number[][] = [[5, 5, 1, 6], [6], [5, 5, 6, 16], [16], [400, 120], [120], [7, 3], [1], [1, 1]];
const STEPS = 5;

/** Deterministic numbers in [-scale, scale) (an LCG), so failures reproduce. */
function numbers(size: number, seed: number, scale: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 4294967296 - 0.5) * 2 * scale;
  }
  return out;
}

/** max|a − b| / max(1e-3, max|b|). */
function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0;
  let scale = 1e-3;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return a.length === b.length ? diff / scale : Number.POSITIVE_INFINITY;
}

interface Run {
  weights: Float32Array[];
  slots: Float32Array[];
  /** Kernel names of the last step (tf.profile). */
  kernels: string[];
  /** Live tensors after each step, minus before the optimizer was made. */
  tensorDeltas: number[];
}

/** Trains SHAPES' variables for STEPS steps with fixed gradients; fused or op-by-op. */
async function train(config: OptimizerConfig, fusedAdam: boolean, inTidy = true): Promise<Run> {
  const vars = SHAPES.map((shape, i) => {
    const size = shape.reduce((a, b) => a * b, 1);
    return tf.variable(tf.tensor(numbers(size, 100 + i, 0.5), shape));
  });
  const before = tf.memory().numTensors;
  const opt = createOptimizerWith(config, vars, { fusedAdam });
  const tensorDeltas: number[] = [];
  let kernels: string[] = [];
  for (let step = 0; step < STEPS; step++) {
    const grads = vars.map((v, i) => tf.tensor(numbers(v.size, 1000 * step + i, 0.1 * (i + 1)), v.shape));
    const lr = 0.01 / (step + 1);
    if (step === STEPS - 1) {
      const profile = await tf.profile(() => {
        tf.tidy(() => opt.apply(grads, lr));
      });
      kernels = profile.kernels.map((k) => k.name);
    } else if (inTidy) {
      tf.tidy(() => opt.apply(grads, lr));
    } else {
      opt.apply(grads, lr);
    }
    tf.dispose(grads);
    tensorDeltas.push(tf.memory().numTensors - before);
  }
  const run: Run = {
    weights: vars.map((v) => v.dataSync() as Float32Array),
    slots: opt.slots.map((s) => s.tensor.dataSync() as Float32Array),
    kernels,
    tensorDeltas,
  };
  opt.dispose();
  tf.dispose(vars);
  return run;
}

const CONFIGS: OptimizerConfig[] = [
  { name: 'adam' },
  { name: 'adam', weightDecay: 0.1 },
  { name: 'adamw', weightDecay: 0.1 },
  { name: 'adamw' },
];

describe('fused Adam/AdamW on wasm', () => {
  beforeAll(async () => {
    await useWasm();
    expect(tf.getBackend()).toBe('wasm');
    expect(tf.getKernel(LENET_ADAM_UPDATE, 'wasm')).toBeDefined();
  });

  for (const config of CONFIGS) {
    it(`${JSON.stringify(config)}: one kernel per variable, same weights and slots as the op-by-op path`, async () => {
      const fused = await train(config, true);
      const ops = await train(config, false);
      expect(fused.kernels).toEqual(SHAPES.map(() => LENET_ADAM_UPDATE));
      expect(ops.kernels).not.toContain(LENET_ADAM_UPDATE);
      expect(ops.kernels.length).toBeGreaterThanOrEqual(13 * SHAPES.length);
      expect(fused.slots).toHaveLength(2 * SHAPES.length);
      fused.weights.forEach((w, i) => {
        expect(relativeError(w, ops.weights[i]), `weight ${i}`).toBeLessThan(1e-5);
      });
      fused.slots.forEach((s, k) => {
        expect(relativeError(s, ops.slots[k]), `slot ${k}`).toBeLessThan(1e-5);
      });
      // The slots of the optimizer (2 per variable) are the only tensors it keeps, every step.
      expect(fused.tensorDeltas).toEqual(Array(STEPS).fill(2 * SHAPES.length));
      expect(ops.tensorDeltas).toEqual(fused.tensorDeltas);
    });
  }

  it('weight decay reaches kernels only, and changes the result', async () => {
    const plain = await train({ name: 'adamw', weightDecay: 0 }, true);
    const decayed = await train({ name: 'adamw', weightDecay: 0.5 }, true);
    SHAPES.forEach((shape, i) => {
      const differs = relativeError(decayed.weights[i], plain.weights[i]) > 1e-4;
      expect(differs, `variable ${i} [${shape}]`).toBe(shape.length >= 2);
    });
  });

  it('holds no extra tensors when applied outside tf.tidy', async () => {
    const run = await train({ name: 'adam', weightDecay: 0.1 }, true, false);
    expect(run.tensorDeltas).toEqual(Array(STEPS).fill(2 * SHAPES.length));
  });

  it('createOptimizer takes the fused path on wasm', async () => {
    const w = tf.variable(tf.ones([3, 2]));
    const opt = createOptimizer('adam', [w]);
    const profile = await tf.profile(() => {
      tf.tidy(() => opt.apply([tf.ones([3, 2])], 0.1));
    });
    expect(profile.kernels.map((k) => k.name)).toEqual([LENET_ADAM_UPDATE]);
    // First Adam step: m̂/√v̂ = 1, so w = 1 − lr (up to ε).
    expect(Array.from(w.dataSync())).toEqual(Array(6).fill(expect.closeTo(0.9, 5)));
    opt.dispose();
    w.dispose();
  });
});

describe('fused Adam on the cpu backend (kernel registered on request)', () => {
  it('matches the op-by-op path', async () => {
    await tf.setBackend('cpu');
    try {
      const ops = await train({ name: 'adam', weightDecay: 0.1 }, true);
      expect(ops.kernels).not.toContain(LENET_ADAM_UPDATE);
      registerFusedOptimizerKernels();
      const fused = await train({ name: 'adam', weightDecay: 0.1 }, true);
      expect(fused.kernels).toEqual(SHAPES.map(() => LENET_ADAM_UPDATE));
      fused.weights.forEach((w, i) => {
        expect(relativeError(w, ops.weights[i]), `weight ${i}`).toBeLessThan(1e-5);
      });
    } finally {
      tf.unregisterKernel(LENET_ADAM_UPDATE, 'cpu');
      await tf.setBackend('wasm');
    }
  });
});
