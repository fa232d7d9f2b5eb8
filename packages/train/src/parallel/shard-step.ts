import * as tf from '@tensorflow/tfjs';
import { type CrossEntropyOptions, correctCount, crossEntropySum } from '../loss.js';

/** The trainable and non-trainable variables of a model, in weight order. */
export interface ModelVariables {
  trainable: tf.Variable[];
  nonTrainable: tf.Variable[];
}

/** Reads the variables behind a model's weights (trainable, then non-trainable). */
export function modelVariables(model: tf.LayersModel): ModelVariables {
  const read = (ws: tf.LayersModel['weights']) =>
    ws.map((w) => {
      const v = w.read();
      if (!(v instanceof tf.Variable)) throw new Error(`weight ${w.name} is not a variable`);
      return v;
    });
  return { trainable: read(model.trainableWeights), nonTrainable: read(model.nonTrainableWeights) };
}

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
 * One shard's training pass: the gradients of the mean cross-entropy over the shard (as `fit`'s
 * single-threaded step computes them), written into `out` in trainable-weight order, followed by
 * the non-trainable weights as the forward pass left them (batch-norm moving statistics updated
 * from this shard). No weight is changed apart from those statistics.
 */
export function shardGradients(
  model: tf.LayersModel,
  vars: ModelVariables,
  batch: { x: Float32Array; y: Int32Array; shape: [number, number, number, number] },
  ce: CrossEntropyOptions,
  out: Float32Array,
): ShardStats {
  const n = batch.y.length;
  const outs = tf.tidy(() => {
    const x = tf.tensor4d(batch.x, batch.shape);
    const y = tf.tensor1d(batch.y, 'int32');
    let correct: tf.Scalar | undefined;
    let outputSum: tf.Scalar | undefined;
    const { value, grads } = tf.variableGrads(() => {
      const o = model.apply(x, { training: true }) as tf.Tensor;
      correct = tf.keep(correctCount(o, y));
      outputSum = tf.keep(tf.sum(o) as tf.Scalar);
      return tf.div(crossEntropySum(o, y, ce), n) as tf.Scalar;
    }, vars.trainable);
    const g = vars.trainable.map((v) => grads[v.name] ?? tf.zerosLike(v));
    return [value, correct ?? tf.scalar(0), outputSum ?? tf.scalar(0), ...g];
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

/** Splits `n` samples into `parts` contiguous shards as even as possible: `[start, end)` each. */
export function shardRanges(n: number, parts: number): Array<[number, number]> {
  const ranges: Array<[number, number]> = [];
  for (let k = 0; k < parts; k++) {
    ranges.push([Math.floor((k * n) / parts), Math.floor(((k + 1) * n) / parts)]);
  }
  return ranges;
}
