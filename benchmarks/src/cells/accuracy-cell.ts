import { batches } from '@lenet/datasets';
import { Accuracy, argmax } from '@lenet/metrics';
import { buildModel, type ModelSpec } from '@lenet/models';
import { fit } from '@lenet/train';
import * as tf from '@tensorflow/tfjs';
import { firstN, fitToInput, type MnistPair } from '../data.js';
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
 * through `model.predict` and through its ONNX export on onnxruntime-node, side by side.
 */
export async function runAccuracyCell(ctx: AccuracyContext): Promise<AccuracyResult> {
  const { spec, budget } = ctx;
  const train = fitToInput(firstN(ctx.data.train, budget.trainSamples), spec.input);
  const test = fitToInput(firstN(ctx.data.test, budget.testSamples), spec.input);
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
    const tfjsAcc = new Accuracy(spec.classes);
    const onnxAcc = new Accuracy(spec.classes);
    let disagree = 0;
    let maxAbsDiff = 0;
    const onnx = await openOrtModel({ spec }, ctx.ortBackend, model, EVAL_BATCH);
    try {
      for (const b of batches(test, { batchSize: EVAL_BATCH })) {
        const xt = tf.tensor4d(b.x, b.shape);
        const out = model.predict(xt) as tf.Tensor;
        const p = (await out.data()) as Float32Array;
        tf.dispose([xt, out]);
        // The same NHWC batch: the classifier transposes it to the exported graph's NCHW input.
        const q = (await onnx.classifier.predict(b.x, b.shape, { layout: 'NHWC' })).probabilities;
        tfjsAcc.update(p, b.y);
        onnxAcc.update(q, b.y);
        const pa = argmax(p, spec.classes);
        const qa = argmax(q, spec.classes);
        for (let i = 0; i < pa.length; i++) if (pa[i] !== qa[i]) disagree++;
        for (let i = 0; i < p.length; i++) maxAbsDiff = Math.max(maxAbsDiff, Math.abs(p[i] - q[i]));
      }
    } finally {
      await onnx.classifier.dispose();
    }
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
      tfjsAccuracy: tfjsAcc.compute(),
      onnxAccuracy: onnxAcc.compute(),
      disagreement: disagree / test.count,
      maxAbsDiff,
      onnxProvider: ortProvider(ctx.ortBackend),
    };
  } finally {
    model.dispose();
  }
}
