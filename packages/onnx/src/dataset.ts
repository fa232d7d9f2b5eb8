import { batches, type Dataset } from '@lenet/datasets';
import type { OnnxClassifier, Prediction } from './classifier.js';
import { OnnxError } from './errors.js';
import type { Normalization } from './export.js';

/** Options of {@link predictDataset} and {@link datasetAccuracy}. */
export interface PredictDatasetOptions {
  /** Images per run. Default 256. */
  batchSize?: number;
  /** Pixel normalisation; default: the model's metadata (`lenet.normalization`), else `'unit'` (/255). */
  normalize?: Normalization;
  /** Only the first `limit` images. */
  limit?: number;
}

/** Result of {@link datasetAccuracy}. */
export interface DatasetAccuracy {
  accuracy: number;
  correct: number;
  count: number;
  /** The predicted label of each image. */
  predictions: Int32Array;
}

function checkFits(model: OnnxClassifier, ds: Dataset): void {
  const { inputShape, inputLayout, inputName } = model.info;
  const [a, b, c] = inputShape.slice(1);
  const [h, w, ch] = inputLayout === 'NCHW' ? [b, c, a] : [a, b, c];
  const fits = (d: number | string, v: number) => typeof d !== 'number' || d <= 0 || d === v;
  if (!fits(h, ds.height) || !fits(w, ds.width) || !fits(ch, ds.channels)) {
    throw new OnnxError(
      'INVALID_INPUT',
      `data set images are ${ds.height}x${ds.width}x${ds.channels} (HxWxC) but model input "${inputName}" is [${inputShape.join(', ')}] (${inputLayout})`,
    );
  }
}

/**
 * Runs the classifier over a `@lenet/datasets` Dataset (uint8 NHWC), converting each batch to
 * normalised float32 in the model's layout. Returns all probabilities and labels.
 */
export async function predictDataset(
  model: OnnxClassifier,
  ds: Dataset,
  options: PredictDatasetOptions = {},
): Promise<Prediction> {
  checkFits(model, ds);
  const count = Math.min(options.limit ?? ds.count, ds.count);
  const view: Dataset =
    count === ds.count
      ? ds
      : {
          ...ds,
          count,
          labels: ds.labels.subarray(0, count),
          images: ds.images.subarray(0, count * ds.height * ds.width * ds.channels),
        };
  const classes = model.info.classes;
  const probabilities = new Float32Array(count * classes);
  const labels = new Int32Array(count);
  let offset = 0;
  const normalize = options.normalize ?? model.info.normalization ?? 'unit';
  for (const batch of batches(view, {
    batchSize: options.batchSize ?? 256,
    layout: model.info.inputLayout,
    normalize,
  })) {
    const p = await model.predict(batch.x, batch.shape, { batchSize: options.batchSize });
    probabilities.set(p.probabilities, offset * classes);
    labels.set(p.labels, offset);
    offset += p.count;
  }
  return { probabilities, labels, count, classes };
}

/** Top-1 accuracy of the classifier on a data set (see {@link predictDataset}). */
export async function datasetAccuracy(
  model: OnnxClassifier,
  ds: Dataset,
  options: PredictDatasetOptions = {},
): Promise<DatasetAccuracy> {
  const { labels, count } = await predictDataset(model, ds, options);
  let correct = 0;
  for (let i = 0; i < count; i++) if (labels[i] === ds.labels[i]) correct++;
  return { accuracy: count === 0 ? 0 : correct / count, correct, count, predictions: labels };
}
