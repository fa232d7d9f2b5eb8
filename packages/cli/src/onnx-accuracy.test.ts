import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useBackend } from '@lenet/backend';
import { batches, type Dataset, loadMnist } from '@lenet/datasets';
import { buildModel, getPreset } from '@lenet/models';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OnnxClassifier } from './classifier.js';
import { datasetAccuracy, predictDataset } from './dataset.js';
import { exportOnnx } from './export.js';

const TRAIN_IMAGES = 6000;
const BATCH = 64;

let dir: string;
beforeAll(async () => {
  await useBackend('wasm');
  dir = await mkdtemp(join(tmpdir(), 'lenet-onnx-mnist-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function trainBriefly(model: tf.LayersModel, train: Dataset): Promise<void> {
  model.compile({ optimizer: tf.train.adam(2e-3), loss: 'categoricalCrossentropy' });
  const view: Dataset = { ...train, count: TRAIN_IMAGES };
  for (const batch of batches(view, { batchSize: BATCH, shuffle: true, seed: 1 })) {
    const xs = tf.tensor4d(batch.x, batch.shape);
    const ys = tf.tidy(() => tf.oneHot(tf.tensor1d(batch.y, 'int32'), 10));
    await model.trainOnBatch(xs, ys);
    tf.dispose([xs, ys]);
  }
}

function tfAccuracy(model: tf.LayersModel, test: Dataset): { accuracy: number; predictions: Int32Array } {
  const predictions = new Int32Array(test.count);
  let offset = 0;
  let correct = 0;
  for (const batch of batches(test, { batchSize: 1000 })) {
    const labels = tf.tidy(() =>
      (model.predict(tf.tensor4d(batch.x, batch.shape)) as tf.Tensor).argMax(-1).dataSync(),
    );
    for (let i = 0; i < labels.length; i++) {
      predictions[offset + i] = labels[i];
      if (labels[i] === batch.y[i]) correct++;
    }
    offset += labels.length;
  }
  return { accuracy: correct / test.count, predictions };
}

describe('a LeNet-5 trained on real MNIST keeps its accuracy after export', () => {
  it('ONNX Runtime test accuracy is within 0.05 percentage points of TensorFlow.js (10,000 images)', async () => {
    const [train, test] = await Promise.all([loadMnist({ split: 'train' }), loadMnist({ split: 'test' })]);
    expect(test.count).toBe(10_000);
    const { spec } = getPreset('lenet5');
    const model = buildModel(spec, { seed: 1 });
    try {
      await trainBriefly(model, train);
      const tfResult = tfAccuracy(model, test);
      expect(tfResult.accuracy).toBeGreaterThan(0.9); // it really learned something

      const path = join(dir, 'lenet5-mnist.onnx');
      await exportOnnx(model, path, { classNames: [...test.classNames], normalization: 'unit' });
      const onnx = await OnnxClassifier.load(path, { executionProviders: ['cpu'] });
      try {
        const ort = await datasetAccuracy(onnx, test);
        expect(ort.count).toBe(10_000);
        expect(Math.abs(ort.accuracy - tfResult.accuracy) * 100).toBeLessThanOrEqual(0.05);
        let disagree = 0;
        for (let i = 0; i < test.count; i++) if (ort.predictions[i] !== tfResult.predictions[i]) disagree++;
        expect(disagree).toBeLessThanOrEqual(5);
        const some = await predictDataset(onnx, test, { limit: 10 });
        expect(some.count).toBe(10);
        expect(Array.from(some.labels)).toEqual(Array.from(ort.predictions.subarray(0, 10)));
        console.log(
          `MNIST test accuracy: tfjs ${(tfResult.accuracy * 100).toFixed(2)}%, onnxruntime ${(ort.accuracy * 100).toFixed(2)}%, ${disagree} predictions differ`,
        );
      } finally {
        await onnx.dispose();
      }
    } finally {
      model.dispose();
    }
  });

  it('refuses a data set whose images do not fit the model', async () => {
    const model = buildModel(getPreset('lenet5').spec, { seed: 1 });
    const path = join(dir, 'fit.onnx');
    await exportOnnx(model, path);
    model.dispose();
    const onnx = await OnnxClassifier.load(path, { executionProviders: ['cpu'] });
    const wrong: Dataset = {
      images: new Uint8Array(2 * 32 * 32 * 3),
      labels: new Uint8Array(2),
      count: 2,
      height: 32,
      width: 32,
      channels: 3,
      classNames: ['a', 'b'],
      source: 'test',
    };
    await expect(datasetAccuracy(onnx, wrong)).rejects.toThrow(
      'data set images are 32x32x3 (HxWxC) but model input "input" is [batch, 1, 28, 28] (NCHW)',
    );
    await onnx.dispose();
  });
});
