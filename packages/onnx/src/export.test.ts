import { describe, expect, it } from 'vitest';
import { toOnnxBytes } from './export.js';
import {
  maxAbsDiff,
  nhwcToNchw,
  randomizeWeights,
  rng,
  runOrt,
  tfOutputs,
  tfPredict,
  uniform,
} from './testing/helpers.js';
import * as tf from './tfjs.js';

function smallCnn(): tf.LayersModel {
  const m = tf.sequential({ name: 'small_cnn' });
  m.add(
    tf.layers.conv2d({
      inputShape: [12, 10, 3],
      filters: 4,
      kernelSize: 3,
      padding: 'same',
      activation: 'relu',
    }),
  );
  m.add(tf.layers.batchNormalization());
  m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
  m.add(
    tf.layers.conv2d({ filters: 6, kernelSize: [3, 2], strides: [2, 1], padding: 'same', useBias: false }),
  );
  m.add(tf.layers.batchNormalization());
  m.add(tf.layers.activation({ activation: 'tanh' }));
  m.add(tf.layers.averagePooling2d({ poolSize: 2, strides: 1, padding: 'same' }));
  m.add(tf.layers.flatten());
  m.add(tf.layers.dropout({ rate: 0.3 }));
  m.add(tf.layers.dense({ units: 8, activation: 'elu' }));
  m.add(tf.layers.batchNormalization());
  m.add(tf.layers.dense({ units: 5, activation: 'softmax' }));
  return m;
}

describe('exporter parity on a hand-built CNN', () => {
  it('matches TensorFlow.js in every layout/folding combination', async () => {
    const model = smallCnn();
    randomizeWeights(model, 1);
    const shape = [16, 12, 10, 3];
    const x = uniform(16 * 12 * 10 * 3, rng(2));
    const probs = tfPredict(model, x, shape);
    const { logits } = tfOutputs(model, x, shape);
    for (const inputLayout of ['NCHW', 'NHWC'] as const) {
      for (const foldBatchNorm of [false, true]) {
        const feed = inputLayout === 'NCHW' ? nhwcToNchw(x, shape) : x;
        const feedShape = inputLayout === 'NCHW' ? [16, 3, 12, 10] : shape;
        const p = await runOrt(toOnnxBytes(model, { inputLayout, foldBatchNorm }), feed, feedShape);
        const l = await runOrt(
          toOnnxBytes(model, { inputLayout, foldBatchNorm, logits: true }),
          feed,
          feedShape,
        );
        expect(maxAbsDiff(p, probs), `${inputLayout} fold=${foldBatchNorm} probabilities`).toBeLessThan(1e-4);
        expect(maxAbsDiff(l, logits), `${inputLayout} fold=${foldBatchNorm} logits`).toBeLessThan(1e-4);
      }
    }
    model.dispose();
  });
});
