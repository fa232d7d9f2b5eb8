import { buildModel } from '@lenet/models';
import * as tf from '@tensorflow/tfjs';
import { firstBatches, fitToInput } from '../data.js';
import { RssSampler } from '../memory.js';
import type { CellResult } from '../types.js';
import { type CellContext, measuredCell } from './common.js';

/** Real MNIST batches each training cell cycles through. */
const BATCHES_PER_CELL = 4;

/**
 * One TensorFlow.js training cell on the active backend: builds the variant (seeded), and times
 * one Adam step per iteration — forward in training mode (dropout and BatchNorm active),
 * categorical cross-entropy, backward, update — on real MNIST batches. Each iteration ends with
 * `await loss.data()`, so the time includes all the work the backend queued.
 */
export async function runTrainCell(ctx: CellContext): Promise<CellResult> {
  const { spec, batch } = ctx;
  const ds = fitToInput(ctx.data.train, spec.input);
  const host = firstBatches(ds, batch, BATCHES_PER_CELL);
  const tensorsBefore = tf.memory().numTensors;
  const model = buildModel(spec, { seed: 1 });
  const optimizer = tf.train.adam(1e-3);
  const xs = host.map((b) => tf.tensor4d(b.x, b.shape));
  const ys = host.map((b) =>
    tf.tidy(() => tf.oneHot(tf.tensor1d(b.y, 'int32'), spec.classes).asType('float32')),
  );
  const rss = new RssSampler().start();
  let i = 0;
  let maxTensors = 0;
  let afterFirst = 0;
  let calls = 0;
  const step = async (): Promise<void> => {
    const k = i++ % xs.length;
    const loss = optimizer.minimize(() => {
      const pred = model.apply(xs[k], { training: true }) as tf.Tensor;
      return tf.mean(tf.metrics.categoricalCrossentropy(ys[k], pred)) as tf.Scalar;
    }, true);
    if (!loss) throw new Error('optimizer.minimize returned no loss');
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
