import { beforeAll, describe, expect, it } from 'vitest';
import { registerWasmTrainingKernels } from '../register.js';
import { onBackend, randomArray, relativeError } from '../testing/helpers.js';
import * as tf from '../tfjs.js';

/** [full shape, broadcast shape]: biases, per-channel statistics, scalars, odd channel counts. */
const BROADCASTS: Array<[number[], number[]]> = [
  [[4, 7, 7, 6], [6]],
  [
    [4, 7, 7, 6],
    [1, 1, 1, 6],
  ],
  [[3, 5, 5, 16], [16]],
  [[2, 9, 3], [3]],
  [[5, 10], [10]],
  [
    [5, 7],
    [1, 7],
  ],
  [[3, 4, 5, 1], [1]],
  [[4, 6, 6, 12], []],
  [[7], [7]],
  [
    [2, 3, 5, 24],
    [1, 24],
  ],
];

const OPS: Array<[string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor]> = [
  ['add', tf.add],
  ['sub', tf.sub],
  ['mul', tf.mul],
  ['div', tf.div],
];

describe('wasm last-axis broadcast kernels match the cpu backend', () => {
  beforeAll(async () => {
    await registerWasmTrainingKernels();
  });

  BROADCASTS.forEach(([full, small], i) => {
    for (const [name, op] of OPS) {
      it(`${name} [${full}] with [${small}], both orders`, async () => {
        const run = () => {
          const a = tf.tensor(
            randomArray(
              full.reduce((x, y) => x * y, 1),
              10 + i,
            ),
            full,
          );
          // Away from zero so that division is well conditioned.
          const b = tf.add(
            tf.tensor(
              randomArray(
                small.reduce((x, y) => x * y, 1),
                50 + i,
              ),
              small,
            ),
            2,
          );
          return [op(a, b), op(b, a)];
        };
        const cpu = await onBackend('cpu', run);
        const wasm = await onBackend('wasm', run);
        for (const [j, w] of wasm.entries()) {
          expect(w.length).toBe(cpu[j].length);
          // Same float32 operation per element: equal up to the division's rounding.
          expect(relativeError(w, cpu[j]), `${name} order ${j}`).toBeLessThan(1e-6);
        }
      });
    }
  });

  it('keeps the result shape, and leaves int32 and equal-shape operands to the stock kernels', async () => {
    await tf.setBackend('wasm');
    const y = tf.add(tf.zeros([2, 3, 4]), tf.ones([4]));
    expect(y.shape).toEqual([2, 3, 4]);
    expect(Array.from(await tf.add(tf.tensor1d([1, 2], 'int32'), tf.scalar(3, 'int32')).data())).toEqual([
      4, 5,
    ]);
    expect(Array.from(await tf.sub(tf.tensor1d([1, 2]), tf.tensor1d([3, 5])).data())).toEqual([-2, -3]);
  });
});

/** [shape, axis, keepDims]. */
const REDUCTIONS: Array<[number[], number | number[] | undefined, boolean]> = [
  [[64, 28, 28, 6], [0, 1, 2], false],
  [[4, 7, 7, 6], [0, 1, 2], true],
  [[5, 10], 0, false],
  [[3, 5, 5, 16], [2, 1, 0], false],
  [[3, 5, 5, 16], [-4, -3], true],
  [[6, 7], undefined, false],
  [[3, 5, 7], [1, 2], false], // not leading: the stock kernel
  [[9, 3], [0], false],
];

describe('wasm leading-axes Sum and Mean match the cpu backend', () => {
  beforeAll(async () => {
    await registerWasmTrainingKernels();
  });

  REDUCTIONS.forEach(([shape, axis, keepDims], i) => {
    it(`sum and mean of [${shape}] over ${JSON.stringify(axis)}${keepDims ? ', keepDims' : ''}`, async () => {
      const run = () => {
        const x = tf.tensor(
          randomArray(
            shape.reduce((a, b) => a * b, 1),
            70 + i,
          ),
          shape,
        );
        return [tf.sum(x, axis, keepDims), tf.mean(x, axis, keepDims)];
      };
      await tf.setBackend('cpu');
      const cpuShapes = tf.tidy(() => run().map((t) => t.shape));
      const cpu = await onBackend('cpu', run);
      const wasm = await onBackend('wasm', run);
      await tf.setBackend('wasm');
      expect(tf.tidy(() => run().map((t) => t.shape))).toEqual(cpuShapes);
      for (const [j, w] of wasm.entries()) {
        expect(relativeError(w, cpu[j]), j === 0 ? 'sum' : 'mean').toBeLessThan(1e-5);
      }
    });
  });
});

describe('wasm FusedBatchNorm (given statistics) matches the cpu backend', () => {
  beforeAll(async () => {
    await registerWasmTrainingKernels();
  });

  const CASES: Array<[number[], boolean, boolean]> = [
    [[4, 7, 7, 6], true, true],
    [[2, 5, 5, 16], false, true],
    [[3, 4, 4, 3], true, false],
    [[8, 10], true, true],
    [[5, 1], false, false],
  ];
  CASES.forEach(([shape, withOffset, withScale], i) => {
    it(`x [${shape}]${withOffset ? ' + offset' : ''}${withScale ? ' · scale' : ''}`, async () => {
      const c = shape[shape.length - 1];
      const run = () => {
        const x = tf.tensor(
          randomArray(
            shape.reduce((a, b) => a * b, 1),
            200 + i,
          ),
          shape,
        );
        const mean = tf.tensor1d(randomArray(c, 210 + i));
        const variance = tf.add(tf.abs(tf.tensor1d(randomArray(c, 220 + i))), 0.05) as tf.Tensor1D;
        const offset = withOffset ? tf.tensor1d(randomArray(c, 230 + i)) : undefined;
        const scale = withScale ? tf.tensor1d(randomArray(c, 240 + i)) : undefined;
        return [tf.batchNorm(x, mean, variance, offset, scale, 1e-3)];
      };
      const [cpu] = await onBackend('cpu', run);
      const [wasm] = await onBackend('wasm', run);
      expect(relativeError(wasm, cpu)).toBeLessThan(1e-5);
    });
  });
});

describe('wasm Tile, Cast and the Mean/Sum gradients match the cpu backend', () => {
  beforeAll(async () => {
    await registerWasmTrainingKernels();
  });

  const TILES: Array<[number[], number[], 'float32' | 'int32']> = [
    [[1, 1, 1, 6], [4, 3, 3, 1], 'float32'], // whole repeats: the fast path
    [[1, 5], [7, 1], 'int32'],
    [[2, 3], [2, 2], 'float32'], // interleaved: the stock kernel
    [[3, 1], [1, 4], 'float32'],
  ];
  TILES.forEach(([shape, reps, dtype], i) => {
    it(`tile [${shape}] ${dtype} by [${reps}]`, async () => {
      const run = () => [
        tf.tile(
          tf.tensor(
            randomArray(
              shape.reduce((a, b) => a * b, 1),
              300 + i,
            ),
            shape,
            dtype,
          ),
          reps,
        ),
      ];
      const [cpu] = await onBackend('cpu', run);
      const [wasm] = await onBackend('wasm', run);
      expect(Array.from(wasm)).toEqual(Array.from(cpu));
    });
  });

  it('casts to the same dtype without copying, and converts int32 to float32 as before', async () => {
    await tf.setBackend('wasm');
    const x = tf.tensor1d([1.5, -2, 3]);
    const before = tf.memory().numDataBuffers;
    const y = tf.cast(x, 'float32');
    expect(tf.memory().numDataBuffers).toBe(before);
    x.dispose();
    expect(Array.from(await y.data())).toEqual([1.5, -2, 3]);
    y.dispose();
    expect(Array.from(await tf.cast(tf.tensor1d([1, 2], 'int32'), 'float32').data())).toEqual([1, 2]);
  });

  const GRADS: Array<[number[], number | number[], boolean]> = [
    [[4, 5, 5, 6], [0, 1, 2], false],
    [[4, 5, 5, 6], [0, 1, 2], true],
    [[3, 7], 1, false],
    [[2, 3, 4], [0, 2], true],
  ];
  GRADS.forEach(([shape, axis, keepDims], i) => {
    it(`gradients of mean and sum of [${shape}] over ${JSON.stringify(axis)}${keepDims ? ', keepDims' : ''}`, async () => {
      const run = () => {
        const x = tf.tensor(
          randomArray(
            shape.reduce((a, b) => a * b, 1),
            400 + i,
          ),
          shape,
        );
        const outShape = tf.tidy(() => tf.sum(x, axis, keepDims).shape);
        const dy = tf.tensor(
          randomArray(
            outShape.reduce((a, b) => a * b, 1),
            410 + i,
          ),
          outShape,
        );
        return [
          tf.grad((a: tf.Tensor) => tf.mean(a, axis, keepDims))(x, dy),
          tf.grad((a: tf.Tensor) => tf.sum(a, axis, keepDims))(x, dy),
        ];
      };
      const cpu = await onBackend('cpu', run);
      const wasm = await onBackend('wasm', run);
      expect(relativeError(wasm[0], cpu[0]), 'mean').toBeLessThan(1e-6);
      expect(relativeError(wasm[1], cpu[1]), 'sum').toBeLessThan(1e-6);
    });
  });
});
