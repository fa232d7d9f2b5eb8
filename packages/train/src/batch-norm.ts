import type { CompiledTrainingNet } from '@lenet/backend';
import { batches, type Dataset, type MeanStd } from '@lenet/datasets';
import { checkCompiledOption, compileModelNet } from './compiled-step.js';
import { dropoutLayers, isDropoutLayer } from './dropout.js';
import { checkPositiveInteger } from './model-info.js';
import * as tf from './tfjs.js';

interface BatchNormLayer {
  momentum: number;
}

const isBatchNorm = (l: tf.layers.Layer): boolean => l.getClassName() === 'BatchNormalization';
const isDropout = (l: tf.layers.Layer): boolean => isDropoutLayer(l, { withRate: true });

/**
 * True when some dropout layer comes before a batch-norm layer. Such a model's moving statistics,
 * gathered while dropout is active, do not match its activations in inference, where dropout is
 * off (the "variance shift" of Li et al. 2019), and inference accuracy can collapse.
 */
export function hasDropoutBeforeBatchNorm(model: tf.LayersModel): boolean {
  const firstDropout = model.layers.findIndex(isDropout);
  return firstDropout >= 0 && model.layers.slice(firstDropout + 1).some(isBatchNorm);
}

/** Options of {@link recalibrateBatchNorm}. */
export interface RecalibrateOptions {
  /** Batches to average over (default 100). */
  batches?: number;
  /** Batch size (default 256). */
  batchSize?: number;
  /** Input normalisation; must match training (default `'unit'`). */
  normalize?: 'unit' | MeanStd;
  /** Seed of the sample order (default 0). */
  seed?: number;
  /**
   * Run the forward passes through the compiled training net where it covers the model (wasm
   * with the SIMD kernels; default true): the same statistics, without TensorFlow.js's per-op
   * work. `false` always takes `model.apply`.
   */
  compiled?: boolean;
}

/**
 * The environment variable that switches the compiled recalibration off (`0`) in the process,
 * for A/B measurements; any other value, or none, leaves the choice to the call.
 */
export const COMPILED_RECALIBRATION_ENV = 'LENET_COMPILED_RECALIBRATION';

/**
 * The compiled training net the recalibration runs its forward passes through, or why it takes
 * `model.apply`: the model's net without its dropout layers (at rate 0 the identity, and their
 * copies cost 5–20 % of the pass). The net reads each batch-norm momentum from its layer at
 * every forward pass, so the caller's k/(k+1) holds there as in `model.apply`.
 */
export function recalibrationNet(
  model: tf.LayersModel,
  compiled = true,
): { net: CompiledTrainingNet; reason: null } | { net: null; reason: string } {
  if (!compiled) return { net: null, reason: 'compiled: false' };
  if (process.env[COMPILED_RECALIBRATION_ENV] === '0') {
    return { net: null, reason: `${COMPILED_RECALIBRATION_ENV}=0` };
  }
  return compileModelNet(model, undefined, (spec) => ({
    ...spec,
    layers: spec.layers.filter((l) => l.type !== 'dropout'),
  }));
}

/**
 * Re-estimates every batch-norm layer's moving mean and variance as the plain average over
 * `batches` batches of `ds`, with dropout switched off and batch norm in training mode (as
 * PyTorch's `swa_utils.update_bn`), so the statistics match inference. Trainable weights are not
 * touched. Returns the number of batches used (0 when the model has no batch norm).
 */
export function recalibrateBatchNorm(
  model: tf.LayersModel,
  ds: Dataset,
  options: RecalibrateOptions = {},
): number {
  const maxBatches = options.batches ?? 100;
  const batchSize = options.batchSize ?? 256;
  checkPositiveInteger('batches', maxBatches);
  checkPositiveInteger('batchSize', batchSize);
  checkCompiledOption(options.compiled);
  const norms = model.layers.filter(isBatchNorm) as unknown as BatchNormLayer[];
  if (norms.length === 0) return 0;
  const drops = dropoutLayers(model, { withRate: true });
  const momenta = norms.map((l) => l.momentum);
  const rates = drops.map((l) => l.rate);
  let k = 0;
  let net: CompiledTrainingNet | null = null;
  try {
    for (const d of drops) d.rate = 0;
    net = recalibrationNet(model, options.compiled).net;
    const stream = batches(ds, {
      batchSize,
      shuffle: true,
      seed: options.seed ?? 0,
      normalize: options.normalize ?? 'unit',
      layout: 'NHWC',
    });
    for (const batch of stream) {
      // momentum k/(k+1) turns the moving average into the running mean of the batch statistics.
      for (const l of norms) l.momentum = k / (k + 1);
      if (net !== null) net.forward(batch.x, batch.y.length, []);
      else {
        tf.tidy(() => {
          model.apply(tf.tensor4d(batch.x, batch.shape), { training: true });
        });
      }
      k++;
      if (k >= maxBatches) break;
    }
  } finally {
    net?.dispose();
    norms.forEach((l, i) => {
      l.momentum = momenta[i];
    });
    drops.forEach((d, i) => {
      d.rate = rates[i];
    });
  }
  return k;
}
