import { batches, type Dataset, type MeanStd } from '@lenet/datasets';
import * as tf from '@tensorflow/tfjs';
import { TrainError } from './errors.js';
import { correctCount, crossEntropySum } from './loss.js';
import { checkDataset, checkPositiveInteger, type ModelInfo, modelInfo } from './model-info.js';

/** Options of {@link evaluate} and {@link predict}. */
export interface EvaluateOptions {
  /** Samples per forward pass (default 256). */
  batchSize?: number;
  /** Input normalisation; must match training (default `'unit'`: pixel / 255). */
  normalize?: 'unit' | MeanStd;
  /** Also return every sample's class probabilities (`count × classes`). Default false. */
  probabilities?: boolean;
}

/** Result of {@link evaluate}. */
export interface EvaluateResult {
  /** Mean categorical cross-entropy. */
  loss: number;
  /** Fraction of samples whose arg-max class equals the label. */
  accuracy: number;
  count: number;
  /** Arg-max class of every sample. */
  predictions: Int32Array;
  /** Class probabilities, row-major `count × classes`, when asked for. */
  probabilities?: Float32Array;
}

/** Result of {@link predict}. */
export interface PredictResult {
  /** Class probabilities, row-major `count × classes`. */
  probabilities: Float32Array;
  /** Arg-max class of every sample. */
  labels: Int32Array;
  classes: number;
}

/** Raw images for {@link predict}: normalised float32 pixels in NHWC order. */
export interface ImageBatch {
  x: Float32Array;
  shape: [number, number, number, number];
}

/** Loss and correct-count sums over a data set, accumulated on the device and read once. */
export async function evaluateSums(
  model: tf.LayersModel,
  ds: Dataset,
  info: ModelInfo,
  batchSize: number,
  normalize: 'unit' | MeanStd,
): Promise<{ loss: number; correct: number }> {
  let lossSum: tf.Tensor = tf.scalar(0);
  let correctSum: tf.Tensor = tf.scalar(0);
  for (const batch of batches(ds, { batchSize, normalize, layout: 'NHWC' })) {
    const [nextLoss, nextCorrect] = tf.tidy(() => {
      const x = tf.tensor4d(batch.x, batch.shape);
      const y = tf.tensor1d(batch.y, 'int32');
      const out = model.predict(x) as tf.Tensor;
      const ce = crossEntropySum(out, y, { classes: info.classes, fromLogits: info.fromLogits });
      return [tf.add(lossSum, ce), tf.add(correctSum, correctCount(out, y))];
    });
    lossSum.dispose();
    correctSum.dispose();
    lossSum = nextLoss;
    correctSum = nextCorrect;
  }
  const both = tf.stack([lossSum, correctSum]);
  const [loss, correct] = await both.data();
  tf.dispose([both, lossSum, correctSum]);
  return { loss, correct };
}

/** Converts model outputs (probabilities or logits) to probabilities. */
function toProbabilities(out: tf.Tensor, info: ModelInfo): tf.Tensor {
  return info.fromLogits ? tf.softmax(out) : out;
}

/**
 * Evaluates a classifier on a labelled data set in batches (inference mode: dropout off, batch
 * norm on moving statistics): mean loss, accuracy and the predicted class of every sample.
 */
export async function evaluate(
  model: tf.LayersModel,
  ds: Dataset,
  options: EvaluateOptions = {},
): Promise<EvaluateResult> {
  const info = modelInfo(model);
  checkDataset(ds, info, 'evaluate');
  const batchSize = options.batchSize ?? 256;
  checkPositiveInteger('batchSize', batchSize);
  const predictions = new Int32Array(ds.count);
  const probabilities = options.probabilities ? new Float32Array(ds.count * info.classes) : undefined;
  let lossSum = 0;
  let correct = 0;
  let offset = 0;
  for (const batch of batches(ds, { batchSize, normalize: options.normalize ?? 'unit', layout: 'NHWC' })) {
    const [ce, argmax, probs] = tf.tidy(() => {
      const x = tf.tensor4d(batch.x, batch.shape);
      const y = tf.tensor1d(batch.y, 'int32');
      const out = model.predict(x) as tf.Tensor;
      const loss = crossEntropySum(out, y, { classes: info.classes, fromLogits: info.fromLogits });
      return [loss, tf.argMax(out, 1), probabilities ? toProbabilities(out, info) : undefined];
    });
    lossSum += (await ce.data())[0];
    const pred = (await argmax.data()) as Int32Array;
    predictions.set(pred, offset);
    for (let i = 0; i < pred.length; i++) if (pred[i] === batch.y[i]) correct++;
    if (probs && probabilities) probabilities.set(await probs.data(), offset * info.classes);
    offset += pred.length;
    tf.dispose([ce, argmax, probs]);
  }
  return {
    loss: lossSum / ds.count,
    accuracy: correct / ds.count,
    count: ds.count,
    predictions,
    ...(probabilities ? { probabilities } : {}),
  };
}

function* imageBatches(images: ImageBatch, batchSize: number): Generator<{ x: Float32Array; n: number }> {
  const [count, h, w, c] = images.shape;
  const size = h * w * c;
  for (let start = 0; start < count; start += batchSize) {
    const n = Math.min(batchSize, count - start);
    yield { x: images.x.subarray(start * size, (start + n) * size), n };
  }
}

/**
 * Class probabilities and arg-max labels for a data set (labels ignored) or for raw normalised
 * NHWC float images, in batches.
 */
export async function predict(
  model: tf.LayersModel,
  data: Dataset | ImageBatch,
  options: Omit<EvaluateOptions, 'probabilities'> = {},
): Promise<PredictResult> {
  const info = modelInfo(model);
  const batchSize = options.batchSize ?? 256;
  checkPositiveInteger('batchSize', batchSize);
  let count: number;
  let source: Iterable<{ x: Float32Array; n: number }>;
  if ('images' in data) {
    checkDataset(data, info, 'predict', false);
    count = data.count;
    source = (function* () {
      for (const b of batches(data, { batchSize, normalize: options.normalize ?? 'unit', layout: 'NHWC' })) {
        yield { x: b.x, n: b.y.length };
      }
    })();
  } else {
    const [n, h, w, c] = data.shape;
    if (h !== info.height || w !== info.width || c !== info.channels) {
      throw new TrainError(
        'predict',
        `images are ${h}x${w}x${c} but the model expects ${info.height}x${info.width}x${info.channels}`,
      );
    }
    if (!Number.isInteger(n) || n < 1)
      throw new TrainError('predict', `no images to predict (shape [${data.shape}])`);
    if (data.x.length !== n * h * w * c) {
      throw new TrainError(
        'predict',
        `x holds ${data.x.length} floats, shape [${data.shape}] needs ${n * h * w * c}`,
      );
    }
    count = n;
    source = imageBatches(data, batchSize);
  }
  const probabilities = new Float32Array(count * info.classes);
  const labels = new Int32Array(count);
  let offset = 0;
  for (const { x, n } of source) {
    const [probs, argmax] = tf.tidy(() => {
      const out = model.predict(tf.tensor4d(x, [n, info.height, info.width, info.channels])) as tf.Tensor;
      return [toProbabilities(out, info), tf.argMax(out, 1)];
    });
    probabilities.set(await probs.data(), offset * info.classes);
    labels.set((await argmax.data()) as Int32Array, offset);
    offset += n;
    tf.dispose([probs, argmax]);
  }
  return { probabilities, labels, classes: info.classes };
}
