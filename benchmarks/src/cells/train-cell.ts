import { buildModel } from '@lenet/models';
import { createOptimizer, crossEntropySum } from '@lenet/train';
import * as tf from '@tensorflow/tfjs';
import { firstBatches, fitToInput } from '../data.js';
import { RssSampler } from '../memory.js';
import type { CellResult } from '../types.js';
import { type CellContext, measuredCell } from './common.js';

/** Real MNIST batches each training cell cycles through. */
const BATCHES_PER_CELL = 4;

/**
 * One TensorFlow.js training cell on the active backend: builds the variant (seeded), and times
 * one Adam step per iteration as `@lenet/train`'s `fit` takes it — forward in training mode
 * (dropout and BatchNorm active), cross-entropy, `tf.variableGrads`, `@lenet/train`'s Adam
 * update (the fused kernel where the backend has one) — on real MNIST batches. Each iteration
 * ends with `await loss.data()`, so the time includes all the work the backend queued.
 */
export async function runTrainCell(ctx: CellContext): Promise<CellResult> {
  const { spec, batch } = ctx;
  const ds = fitToInput(ctx.data.train, spec.input);
  const host = firstBatches(ds, batch, BATCHES_PER_CELL);
  const tensorsBefore = tf.memory().numTensors;
  const model = buildModel(spec, { seed: 1 });
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const optimizer = createOptimizer('adam', vars);
  const xs = host.map((b) => tf.tensor4d(b.x, b.shape));
  const ys = host.map((b) => tf.tensor1d(b.y, 'int32'));
  // A final softmax (every preset has one) means the loss takes probabilities, as in fit.
  const last = spec.layers[spec.layers.length - 1] as { activation?: string } | undefined;
  const ce = { classes: spec.classes, fromLogits: last?.activation !== 'softmax' };
  const rss = new RssSampler().start();
  let i = 0;
  let maxTensors = 0;
  let afterFirst = 0;
  let calls = 0;
  const step = async (): Promise<void> => {
    const k = i++ % xs.length;
    const loss = tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => {
        const pred = model.apply(xs[k], { training: true }) as tf.Tensor;
        return tf.div(crossEntropySum(pred, ys[k], ce), xs[k].shape[0]) as tf.Scalar;
      }, vars);
      optimizer.apply(
        vars.map((v) => grads[v.name] ?? tf.zerosLike(v)),
        1e-3,
      );
      return value;
    });
    await loss.data();
    loss.dispose();
    rss.sample();
    const n = tf.memory().numTensors;
    if (n > maxTensors) maxTensors = n;
    calls++;
    if (calls === 1) afterFirst = n;
  };
  try {
    return await measuredCell('train', ctx, step, () => {
      const end = tf.memory().numTensors;
      return {
        memory: {
          peakRssMb: rss.stop(),
          numTensors: maxTensors - tensorsBefore,
          leakedTensorsPerIteration: calls > 1 ? (end - afterFirst) / (calls - 1) : 0,
        },
      };
    });
  } finally {
    rss.stop();
    tf.dispose([...xs, ...ys]);
    optimizer.dispose();
    model.dispose();
  }
}
