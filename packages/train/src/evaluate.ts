import {
  argmax,
  type Classifier,
  type ImageBatchInput,
  type ImageLayout,
  nonFiniteIndex,
} from '@lenet/common';
import { type Batch, type BatchBuffers, batches, type Dataset, type MeanStd } from '@lenet/datasets';
import { type InferencePath, type ModelInference, modelInference } from './compiled-inference.js';
import { checkCompiledOption } from './compiled-step.js';
import { TrainError } from './errors.js';
import { correctCount, crossEntropyHost, crossEntropySum, PROBABILITY_EPSILON } from './loss.js';
import { isClassifier, modelClassifier } from './model-classifier.js';
import { checkDataset, checkPositiveInteger, type ModelInfo, modelInfo } from './model-info.js';
import * as tf from './tfjs.js';

/** Options of {@link evaluate} and {@link predict}. */
export interface EvaluateOptions {
  /** Samples per forward pass (default 256). */
  batchSize?: number;
  /** Input normalisation; must match training (default: the classifier's; a TensorFlow.js model: `'unit'`, pixel / 255). */
  normalize?: 'unit' | MeanStd;
  /** Also return every sample's class probabilities (`count × classes`). Default false. */
  probabilities?: boolean;
  /**
   * For a TensorFlow.js model: run the forward pass as one compiled kernel sequence where it can
   * (default true) — on wasm with the SIMD kernels, for a sequential model of the layers the
   * compiled training step covers — with `model.predict`'s probabilities bit for bit. `false`
   * always takes `model.predict` (so does the environment variable `LENET_COMPILED_INFERENCE=0`).
   * `path` in the result says which ran.
   */
  compiled?: boolean;
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
  /** For a TensorFlow.js model: whether its forward pass ran compiled or through `model.predict`, and why. */
  path?: InferencePath;
}

/** Result of {@link predict}. */
export interface PredictResult {
  /** Class probabilities, row-major `count × classes`. */
  probabilities: Float32Array;
  /** Arg-max class of every sample. */
  labels: Int32Array;
  classes: number;
  /** For a TensorFlow.js model: whether its forward pass ran compiled or through `model.predict`, and why. */
  path?: InferencePath;
}

/** Raw images for {@link predict}: normalised float32 pixels in the classifier's layout (NHWC for a TensorFlow.js model). */
export type ImageBatch = ImageBatchInput;

/** What {@link evaluateSums} adds up over a data set. */
interface Sums {
  loss: number;
  crossEntropy: number;
  correct: number;
}

/**
 * Loss, plain cross-entropy and correct-count sums over a data set, accumulated on the device and
 * read once. `loss` is the training loss (label smoothing included) so that validation is measured
 * the way training is; `crossEntropy` is without smoothing (the number `evaluate` reports). A
 * softmax model that the compiled inference covers (and `compiled` allows) runs compiled instead,
 * its sums added on the host in float64 from `model.predict`'s probabilities (so they differ from
 * the device's float32 sums in the last digits only). `kept`: the model's inference to run (one a
 * caller keeps from call to call, such as `fit`'s validation from epoch to epoch), not disposed
 * here; without it one is made and disposed. `buffers`: memory for the batches that the caller
 * keeps from call to call (`fit`, epoch to epoch); without it each call writes into new memory.
 */
export async function evaluateSums(
  model: tf.LayersModel,
  ds: Dataset,
  info: ModelInfo,
  batchSize: number,
  normalize: 'unit' | MeanStd,
  labelSmoothing = 0,
  compiled = true,
  kept?: ModelInference,
  buffers?: BatchBuffers,
): Promise<Sums> {
  // Each batch is done with (copied into a tensor or the compiled pass's input) before the next.
  const stream = () => batches(ds, { batchSize, normalize, layout: 'NHWC', reuseBuffers: buffers ?? false });
  if (compiled && !info.fromLogits) {
    const inference = kept ?? modelInference(model, info, { compiled });
    try {
      if (inference.path.kind === 'compiled') {
        return await hostSums(inference, stream(), info, labelSmoothing);
      }
    } finally {
      if (inference !== kept) inference.dispose();
    }
  }
  const lossOptions = { classes: info.classes, fromLogits: info.fromLogits };
  // [smoothed loss, plain cross-entropy, correct]; without smoothing the first two are one number.
  let sums: tf.Tensor = tf.zeros([3]);
  for (const batch of stream()) {
    const next = tf.tidy(() => {
      const x = tf.tensor4d(batch.x, batch.shape);
      const y = tf.tensor1d(batch.y, 'int32');
      const out = model.predict(x) as tf.Tensor;
      const ce = crossEntropySum(out, y, lossOptions);
      const loss = labelSmoothing > 0 ? crossEntropySum(out, y, { ...lossOptions, labelSmoothing }) : ce;
      return tf.add(sums, tf.stack([loss, ce, correctCount(out, y)]));
    });
    sums.dispose();
    sums = next;
  }
  const [loss, crossEntropy, correct] = await sums.data();
  sums.dispose();
  return { loss, crossEntropy, correct };
}

/** {@link evaluateSums} over the compiled pass of a softmax model: the losses of its probabilities on the host. */
async function hostSums(
  inference: ModelInference,
  stream: Iterable<Batch>,
  info: ModelInfo,
  labelSmoothing: number,
): Promise<Sums> {
  const options = { classes: info.classes, fromLogits: false };
  const sums: Sums = { loss: 0, crossEntropy: 0, correct: 0 };
  // The loss gradient crossEntropyHost also writes is not needed here.
  let unused = new Float32Array(0);
  for (const batch of stream) {
    const p = await inference.probabilities(batch);
    if (unused.length < p.length) unused = new Float32Array(p.length);
    const plain = crossEntropyHost(p, p, batch.y, options, unused);
    const smoothed =
      labelSmoothing > 0 ? crossEntropyHost(p, p, batch.y, { ...options, labelSmoothing }, unused) : plain;
    sums.loss += smoothed.lossSum;
    sums.crossEntropy += plain.lossSum;
    sums.correct += plain.correct;
  }
  return sums;
}

/** The classifier behind a model or a `Classifier`, with the normalisation to feed it. */
export function resolve(
  source: Classifier | tf.LayersModel,
  normalize: 'unit' | MeanStd | undefined,
): { classifier: Classifier; normalize: 'unit' | MeanStd } {
  const classifier = isClassifier(source) ? source : modelClassifier(source);
  return { classifier, normalize: normalize ?? classifier.normalization };
}

/** Checks a data set against what the classifier takes; `undefined` input sizes accept any. */
function checkFits(classifier: Classifier, ds: Dataset, field: string, checkLabels: boolean): void {
  const [height, width, channels] = classifier.inputSize;
  checkDataset(
    ds,
    {
      height: height ?? ds.height,
      width: width ?? ds.width,
      channels: channels ?? ds.channels,
      classes: classifier.classes,
    },
    field,
    checkLabels,
  );
}

/** Height, width and channels of a batch shape in the given layout. */
function hwcOf(shape: ImageBatch['shape'], layout: ImageLayout): [number, number, number] {
  const [, a, b, c] = shape;
  return layout === 'NHWC' ? [a, b, c] : [b, c, a];
}

function checkImages(images: ImageBatch, classifier: Classifier): void {
  const [h, w, c] = hwcOf(images.shape, classifier.layout);
  const want = classifier.inputSize;
  if ([h, w, c].some((d, i) => want[i] !== undefined && want[i] !== d)) {
    throw new TrainError(
      'predict',
      `images are ${h}x${w}x${c} but the model expects ${want.map((d) => d ?? 'any').join('x')}`,
    );
  }
  const n = images.shape[0];
  if (!Number.isInteger(n) || n < 1)
    throw new TrainError('predict', `no images to predict (shape [${images.shape}])`);
  if (images.x.length !== n * h * w * c) {
    throw new TrainError(
      'predict',
      `x holds ${images.x.length} floats, shape [${images.shape}] needs ${n * h * w * c}`,
    );
  }
  // A NaN pixel makes a NaN row of probabilities, whose arg-max is class 0: a label from nothing.
  const bad = nonFiniteIndex(images.x);
  if (bad >= 0) {
    throw new TrainError(
      'predict',
      `x[${bad}] (image ${Math.floor(bad / (h * w * c))}) is ${images.x[bad]}: images must hold finite numbers`,
    );
  }
}

/**
 * Checks the classifier's probabilities for a batch: NaN or infinite ones come from non-finite
 * weights (a model saved after training diverged), and would give every such image label 0.
 */
function checkProbabilities(p: Float32Array, classes: number, first: number): void {
  const bad = nonFiniteIndex(p);
  if (bad >= 0) {
    throw new TrainError(
      'predict',
      `the model gave ${p[bad]} as the probability of class ${bad % classes} for image ${first + Math.floor(bad / classes)}: its weights hold non-finite values (did training diverge?)`,
      { kind: 'failure' },
    );
  }
}

/**
 * Checks that the data set has as many classes as the classifier: a model for 10 classes scored
 * on a 5-class set predicts classes the set has no name for (and a confusion matrix cannot hold).
 */
function checkClassCount(classifier: Classifier, ds: Dataset): void {
  if (ds.classNames.length !== classifier.classes) {
    throw new TrainError(
      'classes',
      `evaluate data (${ds.source}) has ${ds.classNames.length} classes but the model has ${classifier.classes}: a model can only be evaluated on data of the classes it was trained for`,
    );
  }
}

function* imageBatches(images: ImageBatch, batchSize: number): Generator<ImageBatch> {
  const [count, a, b, c] = images.shape;
  const size = a * b * c;
  for (let start = 0; start < count; start += batchSize) {
    const n = Math.min(batchSize, count - start);
    yield { x: images.x.subarray(start * size, (start + n) * size), shape: [n, a, b, c] };
  }
}

/**
 * Class probabilities and arg-max labels for a data set (labels ignored) or for raw normalised
 * images in the classifier's layout (NHWC for a TensorFlow.js model), in batches. Takes any
 * `Classifier` of `@lenet/common` (an ONNX session, {@link modelClassifier}) or a TensorFlow.js
 * model.
 */
export async function predict(
  source: Classifier | tf.LayersModel,
  data: Dataset | ImageBatch,
  options: Omit<EvaluateOptions, 'probabilities'> = {},
): Promise<PredictResult> {
  const { classifier, normalize } = resolve(source, options.normalize);
  const batchSize = options.batchSize ?? 256;
  checkPositiveInteger('batchSize', batchSize);
  checkCompiledOption(options.compiled);
  let chunks: Iterable<ImageBatch>;
  let count: number;
  if ('images' in data) {
    checkFits(classifier, data, 'predict', false);
    count = data.count;
    chunks = batches(data, { batchSize, normalize, layout: classifier.layout });
  } else {
    checkImages(data, classifier);
    count = data.shape[0];
    chunks = imageBatches(data, batchSize);
  }
  const { classes } = classifier;
  const probabilities = new Float32Array(count * classes);
  // A TensorFlow.js model: one inference (and its compiled buffers) for every batch.
  const inference: ModelInference | null = isClassifier(source)
    ? null
    : modelInference(source, modelInfo(source), { compiled: options.compiled });
  try {
    let offset = 0;
    for (const batch of chunks) {
      const n = batch.shape[0];
      const input = { x: batch.x, shape: batch.shape };
      const p = await (inference ? inference.probabilities(input) : classifier.probabilities(input));
      if (p.length !== n * classes) {
        throw new TrainError(
          'predict',
          `the classifier returned ${p.length} probabilities for ${n} images of ${classes} classes`,
        );
      }
      checkProbabilities(p, classes, offset);
      probabilities.set(p, offset * classes);
      offset += n;
    }
  } finally {
    inference?.dispose();
  }
  return {
    probabilities,
    labels: argmax(probabilities, classes),
    classes,
    ...(inference ? { path: inference.path } : {}),
  };
}

/**
 * Evaluates a classifier on a labelled data set in batches: mean cross-entropy (from the
 * probabilities, clipped to `[1e-7, 1 − 1e-7]` as Keras does), accuracy and the predicted class of
 * every sample. Takes any `Classifier` of `@lenet/common` (an ONNX session,
 * {@link modelClassifier}) or a TensorFlow.js model (run in inference mode: dropout off, batch
 * norm on moving statistics).
 */
export async function evaluate(
  source: Classifier | tf.LayersModel,
  ds: Dataset,
  options: EvaluateOptions = {},
): Promise<EvaluateResult> {
  const { classifier, normalize } = resolve(source, options.normalize);
  checkFits(classifier, ds, 'evaluate', true);
  checkClassCount(classifier, ds);
  const {
    probabilities,
    labels: predictions,
    classes,
    path,
  } = await predict(source, ds, {
    batchSize: options.batchSize,
    normalize,
    compiled: options.compiled,
  });
  let lossSum = 0;
  let correct = 0;
  for (let i = 0; i < ds.count; i++) {
    const label = ds.labels[i];
    if (predictions[i] === label) correct++;
    const p = probabilities[i * classes + label];
    lossSum -= Math.log(Math.min(1 - PROBABILITY_EPSILON, Math.max(PROBABILITY_EPSILON, p)));
  }
  return {
    loss: lossSum / ds.count,
    accuracy: correct / ds.count,
    count: ds.count,
    predictions,
    ...(options.probabilities ? { probabilities } : {}),
    ...(path ? { path } : {}),
  };
}
