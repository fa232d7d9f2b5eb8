import type { Batch } from '@lenet/datasets';
import { type CompiledStep, checkCompiledOption, chooseCompiledStep } from './compiled-step.js';
import { type DropoutLayer, dropoutLayers, dropoutSeeds, setDropoutSeeds } from './dropout.js';
import { TrainError } from './errors.js';
import { type ClipOptions, clipGradients } from './gradients.js';
import { type CrossEntropyOptions, correctCount, crossEntropySum } from './loss.js';
import { modelInfo } from './model-info.js';
import {
  createOptimizerWith,
  type OptimizerConfig,
  type OptimizerName,
  resolveOptimizerConfig,
  type StepOptimizer,
  type TrainOptimizer,
} from './optimizers.js';
import { RunningSums, type TrainSums } from './running-sums.js';
import * as tf from './tfjs.js';

/** Options of {@link createTrainStep}. Every field is optional. */
export interface TrainStepOptions {
  /** `'adam'` (default), `'adamw'`, `'sgd'`, `'rmsprop'`, or a config with hyper-parameters. */
  optimizer?: OptimizerName | OptimizerConfig;
  /** Label smoothing ε in [0, 1). Default 0. */
  labelSmoothing?: number;
  /** Gradient clipping by value and/or global norm. */
  clip?: ClipOptions;
  /** Seed of the dropout masks. Default 0. */
  seed?: number;
  /**
   * Run the step as one compiled kernel sequence where it can (default true): on the wasm backend
   * with its SIMD kernels, for a sequential model of covered layers (conv2d, dense, max/average
   * pooling, global average pooling, zero padding, batch norm, dropout, relu/tanh/linear
   * activations, flatten, a final softmax) and the
   * Adam or AdamW optimizer — the same results as TensorFlow.js's autodiff, which runs everything
   * else. `false` always takes autodiff (so does the environment variable `LENET_COMPILED_STEP=0`).
   */
  compiled?: boolean;
}

/** Which implementation takes a {@link TrainStep}'s steps, and why. */
export interface StepPath {
  /** `'compiled'`: the fixed kernel sequence; `'autodiff'`: TensorFlow.js's tape and kernels. */
  kind: 'compiled' | 'autodiff';
  /** Why autodiff (the first thing the compiled step does not cover, or the switch that turned it off); null when compiled. */
  reason: string | null;
}

/**
 * `fit`'s training step, on its own: for benchmarks, profiling and custom loops. Nothing is read
 * back from the device during a step.
 */
export interface TrainStep {
  /** The optimizer over the model's trainable weights (owned by the step). */
  readonly optimizer: TrainOptimizer;
  /** Loss, correct count and first non-finite step, summed over the steps since the last reset. */
  readonly sums: TrainSums;
  /** Whether the steps run compiled or through TensorFlow.js autodiff, and why. */
  readonly path: StepPath;
  /**
   * One optimizer step on an NHWC `batch` at learning rate `lr`: forward in training mode, mean
   * cross-entropy, gradients, clipping, update. `step` (the global step index) seeds the dropout
   * masks and names the step in the non-finite check.
   */
  run(batch: Batch, lr: number, step: number): void;
  /** Frees the optimizer and the sums and gives the dropout layers their seeds from before. */
  dispose(): void;
}

function optionalPositive(field: string, value: number | undefined): void {
  if (value !== undefined && !(Number.isFinite(value) && value > 0)) {
    throw new TrainError(field, `${field} must be a positive number, got ${value}`);
  }
}

/** Checks the step's options; throws {@link TrainError} naming the first bad field. */
export function checkTrainStepOptions(options: TrainStepOptions): void {
  const labelSmoothing = options.labelSmoothing ?? 0;
  if (!(labelSmoothing >= 0 && labelSmoothing < 1)) {
    throw new TrainError('labelSmoothing', `labelSmoothing must be in [0, 1), got ${labelSmoothing}`);
  }
  optionalPositive('clipNorm', options.clip?.clipNorm);
  optionalPositive('clipValue', options.clip?.clipValue);
  resolveOptimizerConfig(options.optimizer ?? 'adam');
  checkCompiledOption(options.compiled);
}

/** The trainable and non-trainable variables of a model, in weight order. */
export interface ModelVariables {
  trainable: tf.Variable[];
  nonTrainable: tf.Variable[];
}

/** Reads the variables behind a model's weights (trainable, then non-trainable). */
export function modelVariables(model: tf.LayersModel): ModelVariables {
  const read = (ws: tf.LayersModel['weights']) =>
    ws.map((w) => {
      const v = w.read();
      if (!(v instanceof tf.Variable)) throw new TrainError('model', `weight ${w.name} is not a variable`);
      return v;
    });
  return { trainable: read(model.trainableWeights), nonTrainable: read(model.nonTrainableWeights) };
}

/** What {@link batchGradients} computes. */
export interface BatchGradients {
  /** Mean cross-entropy over the batch. */
  value: tf.Scalar;
  /** The gradient of `value` for each trainable variable, in order (zeros where it does not reach). */
  grads: tf.Tensor[];
  /** Samples whose arg-max class is the label. Kept past `tf.tidy`: the caller disposes it. */
  correct: tf.Scalar;
  /** Σ of the model output. Kept past `tf.tidy`: the caller disposes it. */
  outputSum: tf.Scalar;
}

/**
 * The gradient computation of every training step, local or one data-parallel shard: forward in
 * training mode, mean cross-entropy and its gradients for `trainable`. Changes no weight apart
 * from batch-norm moving statistics. Call inside `tf.tidy`.
 */
export function batchGradients(
  model: tf.LayersModel,
  trainable: tf.Variable[],
  batch: Batch,
  ce: CrossEntropyOptions,
): BatchGradients {
  const n = batch.y.length;
  const x = tf.tensor4d(batch.x, batch.shape);
  const y = tf.tensor1d(batch.y, 'int32');
  const extras: tf.Scalar[] = [];
  const { value, grads } = tf.variableGrads(() => {
    const out = model.apply(x, { training: true }) as tf.Tensor;
    extras.push(tf.keep(correctCount(out, y)));
    // NaN/Inf in the output can hide behind the probability clipping of the loss; a sum of the
    // output carries them into the non-finite check.
    extras.push(tf.keep(tf.sum(out) as tf.Scalar));
    return tf.div(crossEntropySum(out, y, ce), n) as tf.Scalar;
  }, trainable);
  const [correct, outputSum] = extras;
  return { value, grads: trainable.map((v) => grads[v.name] ?? tf.zerosLike(v)), correct, outputSum };
}

/**
 * The training step of a model: {@link TrainStep} plus what `fit`'s loop and the data-parallel
 * trainer use (seeding dropout per shard, applying averaged gradients, adding host-side sums).
 */
export class StepRunner implements TrainStep {
  readonly optimizer: StepOptimizer;
  readonly sums: RunningSums;
  readonly vars: ModelVariables;
  readonly ce: CrossEntropyOptions;
  readonly path: StepPath;
  private readonly clip: ClipOptions;
  private readonly seed: number;
  private readonly dropouts: DropoutLayer[];
  private readonly savedSeeds: (number | undefined)[];
  /** The compiled step when the model and options allow it (the data-parallel trainer's shards use it too). */
  readonly compiled: CompiledStep | null;

  constructor(
    readonly model: tf.LayersModel,
    options: TrainStepOptions = {},
  ) {
    checkTrainStepOptions(options);
    const info = modelInfo(model);
    this.vars = modelVariables(model);
    this.optimizer = createOptimizerWith(options.optimizer ?? 'adam', this.vars.trainable, {});
    this.ce = {
      classes: info.classes,
      fromLogits: info.fromLogits,
      labelSmoothing: options.labelSmoothing ?? 0,
    };
    this.clip = options.clip ?? {};
    this.seed = options.seed ?? 0;
    this.dropouts = dropoutLayers(model);
    this.savedSeeds = this.dropouts.map((l) => l.seed);
    const choice = chooseCompiledStep(model, this.vars, this.optimizer, {
      compiled: options.compiled ?? true,
      ce: this.ce,
      clip: this.clip,
    });
    this.compiled = choice.step;
    this.path = { kind: choice.step ? 'compiled' : 'autodiff', reason: choice.reason };
    // The compiled step computes its loss on the host: its sums stay there.
    this.sums = new RunningSums(choice.step !== null);
  }

  /** The dropout seeds of shard `shard` at step `step` (shard 0: the main thread or the whole batch). */
  dropoutSeeds(step: number, shard = 0): number[] {
    return dropoutSeeds(this.dropouts.length, this.seed, step, shard);
  }

  /** Seeds this model's dropout layers for shard `shard` of step `step`. */
  seedDropout(step: number, shard = 0): void {
    setDropoutSeeds(this.dropouts, this.dropoutSeeds(step, shard));
  }

  /** Clips `grads` and applies one optimizer update at `lr`. Call inside `tf.tidy`. */
  update(grads: readonly tf.Tensor[], lr: number): void {
    this.optimizer.apply(clipGradients(grads, this.clip), lr);
  }

  run(batch: Batch, lr: number, step: number): void {
    this.seedDropout(step);
    // Asked at every step: the backend may be switched between two steps.
    if (this.compiled?.usable()) {
      this.compiled.run(batch, lr, this.dropoutSeeds(step), step, this.sums);
      return;
    }
    tf.tidy(() => {
      const g = batchGradients(this.model, this.vars.trainable, batch, this.ce);
      this.update(g.grads, lr);
      this.sums.addOnDevice(g.value, g.outputSum, g.correct, batch.y.length, step);
      tf.dispose([g.correct, g.outputSum]);
    });
  }

  dispose(): void {
    this.compiled?.dispose();
    this.optimizer.dispose();
    this.sums.dispose();
    setDropoutSeeds(this.dropouts, this.savedSeeds);
  }
}

/**
 * Creates `fit`'s training step for `model`, with its optimizer and running sums. Throws
 * {@link TrainError} for bad options or a model that is not a classifier.
 */
export function createTrainStep(model: tf.LayersModel, options: TrainStepOptions = {}): TrainStep {
  return new StepRunner(model, options);
}
