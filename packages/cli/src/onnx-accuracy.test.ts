import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useBackend } from '@lenet/backend';
import { batches, type Dataset, head, loadMnist } from '@lenet/datasets';
import { getPreset } from '@lenet/models';
import { buildModel } from '@lenet/models/tf';
import { exportOnnx, OnnxClassifier } from '@lenet/onnx';
import { evaluate, predict } from '@lenet/train';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from './tfjs.js';

// The ONNX export of a trained network, run by onnxruntime through @lenet/train's one `evaluate`
// (here, where both packages meet, since neither depends on the other).

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
  for (const batch of batches(head(train, TRAIN_IMAGES), { batchSize: BATCH, shuffle: true, seed: 1 })) {
    const xs = tf.tensor4d(batch.x, batch.shape);
    const ys = tf.tidy(() => tf.oneHot(tf.tensor1d(batch.y, 'int32'), 10));
    await model.trainOnBatch(xs, ys);
    tf.dispose([xs, ys]);
  }
}

describe('a LeNet-5 trained on real MNIST keeps its accuracy after export', () => {
  it('ONNX Runtime test accuracy is within 0.05 percentage points of TensorFlow.js (10,000 images)', async () => {
    const [train, test] = await Promise.all([loadMnist({ split: 'train' }), loadMnist({ split: 'test' })]);
    expect(test.count).toBe(10_000);
    const { spec } = getPreset('lenet5');
    const model = buildModel(spec, { seed: 1 });
    try {
      await trainBriefly(model, train);
      const tfResult = await evaluate(model, test, { batchSize: 1000 });
      expect(tfResult.accuracy).toBeGreaterThan(0.9); // it really learned something

      const path = join(dir, 'lenet5-mnist.onnx');
      await exportOnnx(model, path, { classNames: [...test.classNames], normalization: 'unit' });
      const onnx = await OnnxClassifier.load(path, { executionProviders: ['cpu'] });
      try {
        const ort = await evaluate(onnx, test);
        expect(ort.count).toBe(10_000);
        expect(Math.abs(ort.accuracy - tfResult.accuracy) * 100).toBeLessThanOrEqual(0.05);
        let disagree = 0;
        for (let i = 0; i < test.count; i++) if (ort.predictions[i] !== tfResult.predictions[i]) disagree++;
        expect(disagree).toBeLessThanOrEqual(5);
        const some = await predict(onnx, head(test, 10));
        expect(some.labels).toHaveLength(10);
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
    await expect(evaluate(onnx, wrong)).rejects.toThrow(
      'evaluate data (test) has images of 32x32x3 but the model expects 28x28x1',
    );
    await onnx.dispose();
  });
});
