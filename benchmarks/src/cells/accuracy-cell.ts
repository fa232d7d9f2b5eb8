import type { ModelSpec } from '@lenet/models';
import { buildModel } from '@lenet/models/tf';
import { evaluate, fit } from '@lenet/train';
import { fitToInput, type MnistPair } from '../data.js';
import type { AccuracyBudget } from '../profiles.js';
import type { AccuracyResult, OrtBackend } from '../types.js';
import { openOrtModel, ortProvider } from './infer-cell.js';

/** What an accuracy cell needs. */
export interface AccuracyContext {
  model: string;
  spec: ModelSpec;
  budget: AccuracyBudget;
  data: MnistPair;
  /** The TensorFlow.js backend active while it trains. */
  backend: string;
  /** The ONNX provider to evaluate the export on. */
  ortBackend: OrtBackend;
}

const EVAL_BATCH = 250;

/**
 * Trains the variant with `@lenet/train`'s `fit` (seed 1, Adam 1e-3, shuffled each epoch, no
 * augmentation) on the first `trainSamples` MNIST training images for `epochs`, then scores the real MNIST test set
 * with the model and with its ONNX export on onnxruntime-node, side by side.
 */
export async function runAccuracyCell(ctx: AccuracyContext): Promise<AccuracyResult> {
  const { spec, budget } = ctx;
  const train = fitToInput(ctx.data.train, spec.input, budget.trainSamples);
  const test = fitToInput(ctx.data.test, spec.input, budget.testSamples);
  const model = buildModel(spec, { seed: 1 });
  try {
    const fitted = await fit(model, train, {
      epochs: budget.epochs,
      batchSize: budget.batch,
      optimizer: 'adam',
      learningRate: 1e-3,
      shuffle: true,
      seed: 1,
      spec,
    });
    const seconds = fitted.seconds;
    if (fitted.stopped) throw new Error(`training stopped early: ${fitted.stopped.reason}`);
    // Both through @lenet/train's one evaluate: the model on NHWC batches, its export on NCHW ones.
    const tfjs = await evaluate(model, test, { batchSize: EVAL_BATCH, probabilities: true });
    const onnx = await openOrtModel({ spec }, ctx.ortBackend, model, EVAL_BATCH);
    const ort = await evaluate(onnx.classifier, test, { batchSize: EVAL_BATCH, probabilities: true }).finally(
      () => onnx.classifier.dispose(),
    );
    let disagree = 0;
    for (let i = 0; i < test.count; i++) if (tfjs.predictions[i] !== ort.predictions[i]) disagree++;
    const p = tfjs.probabilities ?? new Float32Array();
    const q = ort.probabilities ?? new Float32Array();
    let maxAbsDiff = 0;
    for (let i = 0; i < p.length; i++) maxAbsDiff = Math.max(maxAbsDiff, Math.abs(p[i] - q[i]));
    return {
      model: ctx.model,
      status: 'ok',
      budget: {
        trainSamples: train.count,
        epochs: budget.epochs,
        batch: budget.batch,
        backend: ctx.backend,
        seconds,
      },
      testSamples: test.count,
      tfjsAccuracy: tfjs.accuracy,
      onnxAccuracy: ort.accuracy,
      disagreement: disagree / test.count,
      maxAbsDiff,
      onnxProvider: ortProvider(ctx.ortBackend),
    };
  } finally {
    model.dispose();
  }
}
