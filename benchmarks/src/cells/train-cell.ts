import { buildModel } from '@lenet/models/tf';
import { createTrainStep } from '@lenet/train';
import { firstBatches, fitToInput } from '../data.js';
import { CellMemoryProbe } from '../memory.js';
import * as tf from '../tfjs.js';
import type { CellResult } from '../types.js';
import { type CellContext, measuredCell } from './common.js';

/** Real MNIST batches each training cell cycles through. */
const BATCHES_PER_CELL = 4;

/**
 * One TensorFlow.js training cell on the active backend: builds the variant (seeded), and times
 * one Adam step per iteration with `@lenet/train`'s `createTrainStep`, the step `fit` takes —
 * batch upload, forward in training mode (dropout and BatchNorm active), cross-entropy,
 * gradients, non-finite check, the Adam update (the fused kernel where the backend has one) — on
 * real MNIST batches. Each iteration ends with a read of the step's running sums, so the time
 * includes all the work the backend queued.
 */
export async function runTrainCell(ctx: CellContext): Promise<CellResult> {
  const { spec, batch } = ctx;
  const ds = fitToInput(ctx.data.train, spec.input, batch * BATCHES_PER_CELL);
  const host = firstBatches(ds, batch, BATCHES_PER_CELL);
  const tensorsBefore = tf.memory().numTensors;
  const probe = new CellMemoryProbe().start();
  const model = buildModel(spec, { seed: 1 });
  const trainStep = createTrainStep(model, { optimizer: 'adam', seed: 1 });
  let i = 0;
  let maxTensors = 0;
  let afterFirst = 0;
  let calls = 0;
  const step = async (): Promise<void> => {
    trainStep.run(host[i % host.length], 1e-3, i);
    i++;
    await trainStep.sums.read();
    probe.sample();
    const n = tf.memory().numTensors;
    if (n > maxTensors) maxTensors = n;
    calls++;
    if (calls === 1) afterFirst = n;
  };
  try {
    return await measuredCell('train', ctx, step, async () => {
      const end = tf.memory().numTensors;
      const leakedTensorsPerIteration = calls > 1 ? (end - afterFirst) / (calls - 1) : 0;
      const tensorMb = probe.tensorMb();
      // One more step, untimed, under tf.profile: its peak includes the activations and gradients.
      const peakTensorMb = await probe.peakTensorMb(step);
      return {
        memory: {
          rssGrowthMb: probe.stop(),
          tensorMb,
          peakTensorMb,
          numTensors: maxTensors - tensorsBefore,
          leakedTensorsPerIteration,
        },
      };
    });
  } finally {
    probe.stop();
    trainStep.dispose();
    model.dispose();
  }
}
