import type { CompiledTrainingNet } from '@lenet/backend';
import type { Batch } from '@lenet/datasets';
import { copyGradients, netBackward } from '../compiled-step.js';
import type { CrossEntropyOptions } from '../loss.js';
import { batchGradients, type ModelVariables } from '../step.js';
import * as tf from '../tfjs.js';

/** Total float count of a list of variables. */
export function sizeOf(vars: readonly tf.Variable[]): number {
  return vars.reduce((s, v) => s + v.size, 0);
}

/** Copies the variables' values into `out` from `offset` on; returns the offset after them. */
export function readInto(vars: readonly tf.Variable[], out: Float32Array, offset: number): number {
  let off = offset;
  for (const v of vars) {
    out.set(v.dataSync() as Float32Array, off);
    off += v.size;
  }
  return off;
}

/** Assigns the variables from `src` from `offset` on; returns the offset after them. */
export function writeFrom(vars: readonly tf.Variable[], src: Float32Array, offset: number): number {
  let off = offset;
  for (const v of vars) {
    const t = tf.tensor(src.subarray(off, off + v.size), v.shape, 'float32');
    v.assign(t);
    t.dispose();
    off += v.size;
  }
  return off;
}

/** Scalars of one shard's forward/backward pass. */
export interface ShardStats {
  /** Mean cross-entropy over the shard. */
  loss: number;
  correct: number;
  outputSum: number;
}

/**
 * One shard's training pass: the gradients of the mean cross-entropy over the shard (the step's
 * {@link batchGradients}), written into `out` in trainable-weight order, followed by
 * the non-trainable weights as the forward pass left them (batch-norm moving statistics updated
 * from this shard). No weight is changed apart from those statistics.
 */
export function shardGradients(
  model: tf.LayersModel,
  vars: ModelVariables,
  batch: Batch,
  ce: CrossEntropyOptions,
  out: Float32Array,
): ShardStats {
  const outs = tf.tidy(() => {
    const { value, grads, correct, outputSum } = batchGradients(model, vars.trainable, batch, ce);
    return [value, correct, outputSum, ...grads];
  });
  try {
    let off = 0;
    for (const g of outs.slice(3)) {
      out.set(g.dataSync() as Float32Array, off);
      off += g.size;
    }
    readInto(vars.nonTrainable, out, off);
    return {
      loss: outs[0].dataSync()[0],
      correct: outs[1].dataSync()[0],
      outputSum: outs[2].dataSync()[0],
    };
  } finally {
    tf.dispose(outs);
  }
}

/**
 * {@link shardGradients} with the compiled training net instead of autodiff (when the
 * single-thread step would run compiled): the same layout of `out`, and the dropout masks of
 * `seeds` (those autodiff would draw for them).
 */
export function netShardGradients(
  net: CompiledTrainingNet,
  nonTrainable: readonly tf.Variable[],
  batch: Batch,
  seeds: readonly number[],
  ce: CrossEntropyOptions,
  out: Float32Array,
): ShardStats {
  const { lossSum, correct, outputSum } = netBackward(net, batch, seeds, ce);
  readInto(nonTrainable, out, copyGradients(net, out));
  return { loss: lossSum / batch.y.length, correct, outputSum };
}

/** Splits `n` samples into `parts` contiguous shards as even as possible: `[start, end)` each. */
export function shardRanges(n: number, parts: number): Array<[number, number]> {
  const ranges: Array<[number, number]> = [];
  for (let k = 0; k < parts; k++) {
    ranges.push([Math.floor((k * n) / parts), Math.floor(((k + 1) * n) / parts)]);
  }
  return ranges;
}
