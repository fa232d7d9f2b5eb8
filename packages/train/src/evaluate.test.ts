import type { Classifier, ImageBatchInput } from '@lenet/common';
import { describe, expect, it } from 'vitest';
import { evaluateSums } from './evaluate.js';
import { evaluate, modelClassifier, predict, TrainError } from './index.js';
import { modelInfo } from './model-info.js';
import { mnistHead, model, synthetic, useWasm } from './testing/helpers.js';
import * as tf from './tfjs.js';

/**
 * A classifier that needs no model: class scores from the first value of each image (NCHW, as an
 * ONNX model takes them), so what evaluate feeds it can be checked exactly.
 */
function firstPixelClassifier(seen: ImageBatchInput[]): Classifier {
  return {
    classes: 3,
    inputSize: [undefined, undefined, 2],
    layout: 'NCHW',
    normalization: { mean: [0.5, 0.5], std: [0.5, 0.5] },
    async probabilities(batch) {
      seen.push(batch);
      const [n, c, h, w] = batch.shape;
      const out = new Float32Array(n * 3);
      for (let i = 0; i < n; i++) {
        // -1 → class 0 for sure, +1 → class 2 for sure, anything else → 0.5 / 0.5 on classes 1 and 2.
        const v = batch.x[i * c * h * w];
        out.set(v === -1 ? [1, 0, 0] : v === 1 ? [0, 0, 1] : [0, 0.5, 0.5], i * 3);
      }
      return out;
    },
  };
}

describe('evaluate over any Classifier', () => {
  // Four 1x2x2 images whose first pixel is 0, 255, 255, 128: normalised to -1, 1, 1 and ~0.
  const ds = synthetic(4, { height: 1, width: 2, channels: 2, labels: Uint8Array.from([0, 2, 0, 1]) });
  ds.images.set([0, 9, 9, 9, 255, 9, 9, 9, 255, 9, 9, 9, 128, 9, 9, 9]);
  ds.classNames = ['a', 'b', 'c'];

  it('feeds batches in its layout and normalisation; loss from probabilities clipped at 1e-7', async () => {
    const seen: ImageBatchInput[] = [];
    const r = await evaluate(firstPixelClassifier(seen), ds, { batchSize: 3, probabilities: true });
    expect(seen.map((b) => b.shape)).toEqual([
      [3, 2, 1, 2],
      [1, 2, 1, 2],
    ]);
    expect(Array.from(r.predictions)).toEqual([0, 2, 2, 1]);
    expect(r.accuracy).toBe(0.75);
    expect(r.count).toBe(4);
    // −ln 1 (≈ 1e-7 after clipping), −ln 1, −ln 1e-7 (p = 0 clipped), −ln 0.5.
    expect(r.loss).toBeCloseTo((-Math.log(1 - 1e-7) * 2 - Math.log(1e-7) - Math.log(0.5)) / 4, 6);
    expect(Array.from(r.probabilities ?? [])).toEqual([1, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0.5, 0.5]);
    const withoutProbabilities = await evaluate(firstPixelClassifier([]), ds);
    expect(withoutProbabilities.probabilities).toBeUndefined();
  });

  it('takes another normalisation, and refuses a data set the classifier cannot take', async () => {
    const unit = await evaluate(firstPixelClassifier([]), ds, { normalize: 'unit' });
    // Pixels / 255: no image is exactly -1 or 1 any more, except 255 → 1.
    expect(Array.from(unit.predictions)).toEqual([1, 2, 2, 1]);
    const rgb = synthetic(2, { height: 1, width: 2, channels: 3 });
    await expect(evaluate(firstPixelClassifier([]), rgb)).rejects.toThrow(
      'evaluate data (synthetic) has images of 1x2x3 but the model expects 1x2x2',
    );
    const wrongRows: Classifier = {
      ...firstPixelClassifier([]),
      probabilities: async () => new Float32Array(5),
    };
    await expect(evaluate(wrongRows, ds)).rejects.toThrow(TrainError);
  });

  it('predicts raw images given in the classifier layout', async () => {
    const x = Float32Array.from([-1, 0, 0, 0, 1, 0, 0, 0]);
    const p = await predict(firstPixelClassifier([]), { x, shape: [2, 2, 1, 2] });
    expect(Array.from(p.labels)).toEqual([0, 2]);
    expect(p.classes).toBe(3);
  });
});

describe('evaluate of a TensorFlow.js model', () => {
  it('is the same through modelClassifier, with the loss fit computes on the device', async () => {
    await useWasm();
    const test = await mnistHead('test', 300);
    const { model: m } = model('tiny');
    try {
      const direct = await evaluate(m, test, { batchSize: 64 });
      const adapted = await evaluate(modelClassifier(m, { normalize: 'unit' }), test, { batchSize: 64 });
      expect(Array.from(adapted.predictions)).toEqual(Array.from(direct.predictions));
      expect(adapted.loss).toBe(direct.loss);
      const info = modelInfo(m);
      const sums = await evaluateSums(m, test, info, 64, 'unit');
      expect(direct.loss).toBeCloseTo(sums.loss / test.count, 5);
      expect(direct.accuracy).toBeCloseTo(sums.correct / test.count, 10);
      expect(modelClassifier(m)).toMatchObject({
        classes: 10,
        inputSize: [28, 28, 1],
        layout: 'NHWC',
        normalization: 'unit',
      });
    } finally {
      m.dispose();
    }
  });
});

describe('evaluate and predict refuse what would give a wrong number', () => {
  const ds = synthetic(4, { height: 1, width: 2, channels: 2, labels: Uint8Array.from([0, 1, 0, 1]) });

  it('names both class counts when the data set has other classes than the model (class 7)', async () => {
    const twoClasses = { ...ds, classNames: ['a', 'b'], source: 'two.idx' };
    const error = await evaluate(firstPixelClassifier([]), twoClasses).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TrainError);
    expect((error as TrainError).message).toBe(
      'evaluate data (two.idx) has 2 classes but the model has 3: a model can only be evaluated on data of the classes it was trained for',
    );
  });

  it('refuses NaN or infinite pixels given to predict instead of labelling them 0 (class 1)', async () => {
    const x = Float32Array.from([-1, 0, 0, 0, 1, Number.NaN, 0, 0]);
    await expect(predict(firstPixelClassifier([]), { x, shape: [2, 2, 1, 2] })).rejects.toThrow(
      'x[5] (image 1) is NaN: images must hold finite numbers',
    );
  });

  it('refuses NaN probabilities, as a failure of the model (class 1)', async () => {
    const broken: Classifier = {
      ...firstPixelClassifier([]),
      probabilities: async (batch) => new Float32Array(batch.shape[0] * 3).fill(Number.NaN),
    };
    const error = await evaluate(broken, { ...ds, classNames: ['a', 'b', 'c'] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TrainError);
    expect((error as TrainError).kind).toBe('failure');
    expect((error as TrainError).message).toMatch(
      /^the model gave NaN as the probability of class 0 for image 0: its weights hold non-finite values/,
    );
  });

  it('refuses a TensorFlow.js model whose weights hold NaN', async () => {
    await useWasm();
    const test = await mnistHead('test', 8);
    const { model: m } = model('tiny');
    try {
      const weights = m.getWeights();
      const nan = weights.map((w) => tf.fill(w.shape, Number.NaN));
      m.setWeights(nan);
      await expect(predict(m, test)).rejects.toThrow(
        /the model gave NaN as the probability of class 0 for image 0/,
      );
      for (const t of nan) t.dispose();
    } finally {
      m.dispose();
    }
  });
});
