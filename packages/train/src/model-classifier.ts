import type { Classifier, ImageBatchInput } from '@lenet/common';
import type { MeanStd } from '@lenet/datasets';
import { modelInfo } from './model-info.js';
import * as tf from './tfjs.js';

/** Options of {@link modelClassifier}. */
export interface ModelClassifierOptions {
  /** Input normalisation the model was trained with (default `'unit'`: pixel / 255). */
  normalize?: 'unit' | MeanStd;
}

/**
 * A TensorFlow.js classifier behind the `Classifier` interface of `@lenet/common`: NHWC batches,
 * probabilities (softmax applied when the model ends in logits), in inference mode (dropout off,
 * batch norm on its moving statistics).
 */
export function modelClassifier(model: tf.LayersModel, options: ModelClassifierOptions = {}): Classifier {
  const info = modelInfo(model);
  return {
    classes: info.classes,
    inputSize: [info.height, info.width, info.channels],
    layout: 'NHWC',
    normalization: options.normalize ?? 'unit',
    async probabilities(batch: ImageBatchInput): Promise<Float32Array> {
      const out = tf.tidy(() => {
        const y = model.predict(tf.tensor4d(batch.x, batch.shape)) as tf.Tensor;
        return info.fromLogits ? tf.softmax(y) : y;
      });
      try {
        return (await out.data()) as Float32Array;
      } finally {
        out.dispose();
      }
    },
  };
}

/** True for a `Classifier`, false for a TensorFlow.js model (which has no `probabilities`). */
export function isClassifier(value: Classifier | tf.LayersModel): value is Classifier {
  return typeof (value as Partial<Classifier>).probabilities === 'function';
}
