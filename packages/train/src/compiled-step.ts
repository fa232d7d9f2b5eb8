import {
  type CompiledTrainingNet,
  compileTrainingNet,
  type NetActivation,
  type NetLayer,
  type NetSpec,
  netTrainableVariables,
} from '@lenet/backend';
import type { Batch } from '@lenet/datasets';
import type { DropoutLayer } from './dropout.js';
import { TrainError } from './errors.js';
import { type ClipOptions, clipGradientsHost } from './gradients.js';
import { type CrossEntropyOptions, crossEntropyHost, type HostLoss } from './loss.js';
import type { HostUpdate, StepOptimizer } from './optimizers.js';
import type { RunningSums } from './running-sums.js';
import type { ModelVariables } from './step.js';
import * as tf from './tfjs.js';

/**
 * The environment variable that switches the compiled step off (`0`) for every training step in
 * the process, for A/B measurements; any other value, or none, leaves the choice to the step.
 */
export const COMPILED_STEP_ENV = 'LENET_COMPILED_STEP';

/** Checks a `compiled` option (of a training step, predict, evaluate or modelClassifier): a boolean or absent. */
export function checkCompiledOption(compiled: unknown): void {
  if (compiled !== undefined && typeof compiled !== 'boolean') {
    throw new TrainError('compiled', `compiled must be true or false, got ${JSON.stringify(compiled)}`);
  }
}

/** A layer's serialised config, as the translation reads it. */
type Config = Record<string, unknown>;

/** Why a model or its options take TensorFlow.js's autodiff instead: thrown inside the translation. */
class NotCovered extends Error {}

function activationOf(config: Config, last: boolean): NetActivation | 'softmax' {
  const act = config.activation ?? 'linear';
  if (act === 'linear' || act === 'relu' || act === 'tanh') return act;
  if (act === 'softmax' && last) return act;
  throw new NotCovered(`activation ${String(act)}${act === 'softmax' ? ' before the last layer' : ''}`);
}

function pairOf(value: unknown, what: string): [number, number] {
  const v = Array.isArray(value) ? value : [value, value];
  if (v.length !== 2 || !v.every((d) => Number.isInteger(d) && d >= 1)) {
    throw new NotCovered(`${what} ${JSON.stringify(value)}`);
  }
  return [v[0], v[1]];
}

function expect(config: Config, key: string, allowed: readonly unknown[]): void {
  const value = config[key];
  if (
    value !== undefined &&
    value !== null &&
    !allowed.some((a) => JSON.stringify(a) === JSON.stringify(value))
  ) {
    throw new NotCovered(`${key} ${JSON.stringify(value)}`);
  }
}

/** The layer's weights by their name ('kernel', 'gamma', …), as the TF.js variables behind them. */
function weightsOf(layer: tf.layers.Layer): Map<string, tf.Variable> {
  const byName = new Map<string, tf.Variable>();
  for (const w of layer.weights) {
    const v = w.read();
    if (!(v instanceof tf.Variable)) throw new NotCovered(`weight ${w.name} is not a variable`);
    byName.set(w.originalName.slice(w.originalName.lastIndexOf('/') + 1), v);
  }
  return byName;
}

function weight(weights: Map<string, tf.Variable>, name: string): tf.Variable {
  const v = weights.get(name);
  if (v === undefined) throw new NotCovered(`no ${name} weight`);
  return v;
}

/**
 * One tfjs-layers layer as a net layer; null for an input layer or a final softmax (the loss
 * applies it). For `inference` frozen weights and any dropout noise shape do (neither matters there).
 */
function netLayer(layer: tf.layers.Layer, last: boolean, inference: boolean): NetLayer | null {
  const config = layer.getConfig() as Config;
  const className = layer.getClassName();
  if (!inference && !layer.trainable && layer.weights.length > 0) throw new NotCovered('frozen weights');
  expect(config, 'dataFormat', ['channelsLast']);
  switch (className) {
    case 'Conv2D': {
      expect(config, 'dilationRate', [1, [1, 1]]);
      expect(config, 'padding', ['same', 'valid']);
      const w = weightsOf(layer);
      const activation = activationOf(config, last);
      if (activation === 'softmax') throw new NotCovered('activation softmax on a convolution');
      return {
        type: 'conv2d',
        kernel: weight(w, 'kernel'),
        bias: w.get('bias'),
        strides: pairOf(config.strides ?? 1, 'strides'),
        padding: config.padding as 'same' | 'valid',
        activation,
      };
    }
    case 'Dense': {
      const w = weightsOf(layer);
      const activation = activationOf(config, last);
      return {
        type: 'dense',
        kernel: weight(w, 'kernel'),
        bias: w.get('bias'),
        activation,
      };
    }
    case 'MaxPooling2D':
    case 'AveragePooling2D': {
      expect(config, 'padding', ['valid']);
      const size = pairOf(config.poolSize, 'poolSize');
      return {
        type: 'pool',
        op: className === 'MaxPooling2D' ? 'max' : 'avg',
        size,
        strides: config.strides == null ? size : pairOf(config.strides, 'strides'),
      };
    }
    case 'BatchNormalization': {
      expect(config, 'axis', [-1]);
      expect(config, 'center', [true]);
      expect(config, 'scale', [true]);
      const w = weightsOf(layer);
      return {
        type: 'batchNorm',
        gamma: weight(w, 'gamma'),
        beta: weight(w, 'beta'),
        movingMean: weight(w, 'moving_mean'),
        movingVariance: weight(w, 'moving_variance'),
        // Read at every step, as the layer reads its own.
        get momentum() {
          return (layer as unknown as { momentum: number }).momentum;
        },
        get epsilon() {
          return (layer as unknown as { epsilon: number }).epsilon;
        },
      };
    }
    case 'Dropout':
      if (!inference) expect(config, 'noiseShape', [null]);
      return {
        type: 'dropout',
        // Read at every step: callbacks change it (earlyDropout).
        get rate() {
          return (layer as unknown as DropoutLayer).rate ?? 0;
        },
      };
    case 'Activation': {
      const activation = activationOf(config, last);
      return activation === 'softmax' ? null : { type: 'activation', activation };
    }
    case 'Flatten':
      return { type: 'flatten' };
    case 'ZeroPadding2D': {
      const [[top, bottom], [left, right]] = config.padding as [[number, number], [number, number]];
      return {
        type: 'zeroPad',
        padding: [
          [top, bottom],
          [left, right],
        ],
      };
    }
    case 'GlobalAveragePooling2D':
      return { type: 'globalAvgPool' };
    case 'InputLayer':
      return null;
    default:
      throw new NotCovered('the layer type');
  }
}

/**
 * A model's layers as a {@link NetSpec}, or why the compiled step (with `inference`: the compiled
 * inference) does not cover it.
 */
export function modelNetSpec(
  model: tf.LayersModel,
  options: { inference?: boolean } = {},
): { spec: NetSpec } | { reason: string } {
  if (!(model instanceof tf.Sequential)) return { reason: 'not a sequential model' };
  const input = model.inputs[0]?.shape;
  if (input?.length !== 4 || !input.slice(1).every((d) => typeof d === 'number')) {
    return { reason: `input shape [${input}] is not [batch, height, width, channels]` };
  }
  const layers: NetLayer[] = [];
  const all = model.layers;
  for (const [i, layer] of all.entries()) {
    try {
      const l = netLayer(layer, i === all.length - 1, options.inference === true);
      if (l) layers.push(l);
    } catch (e) {
      if (!(e instanceof NotCovered)) throw e;
      return { reason: `layer ${layer.name} (${layer.getClassName()}): ${e.message} is not covered` };
    }
  }
  return { spec: { input: input.slice(1) as [number, number, number], layers } };
}

/**
 * `fit`'s training step as one fixed kernel sequence (see `compileTrainingNet` in @lenet/backend):
 * forward, the loss and its gradient on the host, backward, clipping and the optimizer update in
 * place in the model's variables and the optimizer's slots, with the sums added on the host. No
 * TensorFlow.js op runs in a step.
 */
export class CompiledStep {
  constructor(
    /** The net the step runs (a data-parallel step computes its shard 0 with it). */
    readonly net: CompiledTrainingNet,
    private readonly update: HostUpdate,
    private readonly slots: tf.Variable[],
    /** Of the model's random-mask layers (in order), those the net draws a mask for. */
    private readonly ce: CrossEntropyOptions,
    private readonly clip: ClipOptions,
  ) {}

  /** Whether the active backend is still the one the step was compiled for. */
  usable(): boolean {
    return this.net.usable();
  }

  run(batch: Batch, lr: number, seeds: readonly number[], step: number, sums: RunningSums): void {
    const loss = netBackward(this.net, batch, seeds, this.ce);
    this.applyUpdate(null, lr);
    sums.addOnHost(loss.lossSum, loss.outputSum, loss.correct, step);
  }

  /**
   * Clips `grads` (one array per trainable variable, changed in place) and applies the optimizer
   * as {@link run} does, after a backward pass of {@link net} (a data-parallel step's shard 0).
   * `updated` reads the new values of the trainable variables (heap views, valid during the call).
   */
  applyGradients(
    grads: readonly Float32Array[],
    lr: number,
    updated?: (next: readonly Float32Array[]) => void,
  ): void {
    this.applyUpdate(grads, lr, updated);
  }

  /** The update from `grads`, or from the net's own gradients of its last backward pass (null). */
  private applyUpdate(
    grads: readonly Float32Array[] | null,
    lr: number,
    updated?: (next: readonly Float32Array[]) => void,
  ): void {
    this.net.applyUpdate(this.slots, (u) => {
      const g = grads ?? u.grads;
      clipGradientsHost(g, this.clip);
      this.update(g, u.weights, u.next, u.slots, lr);
      updated?.(u.next);
    });
  }

  dispose(): void {
    this.net.dispose();
  }
}

/**
 * Forward in training mode (dropout masks from `seeds`, one per dropout layer: the model's
 * random-mask layers are all Dropout layers, others are not covered), the mean cross-entropy and
 * its gradient on the host, and the backward pass: `net.gradients()` holds the shard's gradients.
 */
export function netBackward(
  net: CompiledTrainingNet,
  batch: Batch,
  seeds: readonly number[],
  ce: CrossEntropyOptions,
): HostLoss {
  net.forward(batch.x, batch.y.length, seeds);
  // The softmax allocates (and may move the heap): every view is taken after it.
  const probs = ce.fromLogits ? null : net.softmax();
  const loss = crossEntropyHost(net.output(), probs, batch.y, ce, net.outputGradient());
  net.backward();
  return loss;
}

/** Copies the gradients of the net's last backward pass into `out` from offset 0; returns the offset after them. */
export function copyGradients(net: CompiledTrainingNet, out: Float32Array): number {
  let off = 0;
  for (const g of net.gradients()) {
    out.set(g, off);
    off += g.length;
  }
  return off;
}

/**
 * The compiled training net of `model` (whose trainable variables are `trainable`, when given:
 * a forward-only caller needs no order) when the active backend is wasm with the SIMD kernels and
 * every layer is covered; else why not. `edit` changes the translated spec before it is compiled
 * (a forward-only caller may drop layers it knows to be the identity). The switches
 * ({@link COMPILED_STEP_ENV}, `compiled: false`) and the optimizer are the caller's.
 */
export function compileModelNet(
  model: tf.LayersModel,
  trainable?: readonly tf.Variable[],
  edit: (spec: NetSpec) => NetSpec = (spec) => spec,
): { net: CompiledTrainingNet; reason: null } | { net: null; reason: string } {
  const no = (reason: string) => ({ net: null, reason });
  if (tf.getBackend() !== 'wasm') return no(`backend ${tf.getBackend()}`);
  const translated = modelNetSpec(model);
  if ('reason' in translated) return no(translated.reason);
  const { spec } = translated;
  const netVars = netTrainableVariables(spec);
  if (
    trainable !== undefined &&
    (netVars.length !== trainable.length || netVars.some((v, i) => v !== trainable[i]))
  ) {
    return no('the trainable weights are not in layer order');
  }
  const net = compileTrainingNet(edit(spec));
  if (net === undefined) return no('no wasm SIMD kernels');
  return { net, reason: null };
}

/** What {@link chooseCompiledStep} decided: the compiled step, or why the step takes autodiff. */
export type CompiledChoice = { step: CompiledStep; reason: null } | { step: null; reason: string };

/**
 * The compiled step for `model` when the active backend is wasm with the SIMD kernels, every
 * layer is covered, the optimizer has a host update (Adam, AdamW), and neither `compiled: false`
 * nor {@link COMPILED_STEP_ENV}=0 asks for autodiff; else why not.
 */
export function chooseCompiledStep(
  model: tf.LayersModel,
  vars: ModelVariables,
  optimizer: StepOptimizer,
  settings: { compiled: boolean; ce: CrossEntropyOptions; clip: ClipOptions },
): CompiledChoice {
  const no = (reason: string): CompiledChoice => ({ step: null, reason });
  if (!settings.compiled) return no('compiled: false');
  if (process.env[COMPILED_STEP_ENV] === '0') return no(`${COMPILED_STEP_ENV}=0`);
  if (tf.getBackend() !== 'wasm') return no(`backend ${tf.getBackend()}`);
  if (optimizer.hostUpdate === null) return no(`optimizer ${optimizer.config.name}`);
  const { net, reason } = compileModelNet(model, vars.trainable);
  if (net === null) return no(reason);
  const slots = optimizer.slots.map((s) => s.tensor);
  return {
    step: new CompiledStep(net, optimizer.hostUpdate, slots, settings.ce, settings.clip),
    reason: null,
  };
}
