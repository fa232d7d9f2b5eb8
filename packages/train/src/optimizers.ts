import {
  type AdamUpdateAttrs,
  adamUpdateArrays,
  type FusedAdamUpdate,
  fusedAdamUpdate,
} from '@lenet/backend';
import { TrainError } from './errors.js';
import { OPTIMIZER_NAMES, type OptimizerName } from './optimizer-names.js';
import * as tf from './tfjs.js';

export { OPTIMIZER_NAMES, type OptimizerName };

/**
 * An optimizer and its hyper-parameters. Unset fields take PyTorch's defaults, except `epsilon`
 * (1e-7, as Keras) and AdamW's `weightDecay` (0.01).
 */
export interface OptimizerConfig {
  name: OptimizerName;
  /** Base learning rate before any schedule: 1e-3 for adam/adamw/rmsprop, 1e-2 for sgd. */
  learningRate?: number;
  /** SGD and RMSprop momentum (default 0). */
  momentum?: number;
  /** SGD Nesterov momentum (needs `momentum > 0`). */
  nesterov?: boolean;
  /** Adam first-moment decay (0.9). */
  beta1?: number;
  /** Adam second-moment decay (0.999). */
  beta2?: number;
  /** RMSprop squared-gradient decay (0.9). */
  rho?: number;
  /** Denominator fuzz for adam/adamw/rmsprop (1e-7). */
  epsilon?: number;
  /**
   * Weight decay on kernels (weights of rank ≥ 2; biases and batch-norm parameters are not decayed).
   * adam/sgd/rmsprop: L2 penalty `wd·w` added to the gradient (PyTorch `weight_decay`);
   * adamw: decoupled, `w ← w − lr·wd·w` (Loshchilov & Hutter). Default 0, adamw 0.01.
   */
  weightDecay?: number;
}

/** An optimizer config with every default filled in. */
export type ResolvedOptimizerConfig = Required<OptimizerConfig>;

/** One named state tensor of an optimizer (a moment or momentum buffer). */
export interface OptimizerSlot {
  name: string;
  tensor: tf.Variable;
}

/**
 * A first-order optimizer over a fixed list of variables. Its state ("slots") is created up front,
 * so the number of live tensors never changes during training, and can be saved and restored
 * exactly for resume.
 */
export interface TrainOptimizer {
  readonly config: ResolvedOptimizerConfig;
  /** Updates applied so far. */
  readonly iterations: number;
  /** The state tensors, in a fixed order. */
  readonly slots: readonly OptimizerSlot[];
  /** Applies one update with `grads[i]` for `vars[i]` at learning rate `lr`. Call inside `tf.tidy`. */
  apply(grads: readonly tf.Tensor[], lr: number): void;
  /** Restores the state written by a checkpoint: iteration count and slot values, in `slots` order. */
  restore(iterations: number, values: readonly tf.Tensor[]): void;
  /** Frees the slot tensors. */
  dispose(): void;
}

function positive(field: string, value: number, allowZero: boolean): number {
  if (!Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    throw new TrainError(
      field,
      `${field} must be a ${allowZero ? 'non-negative' : 'positive'} number, got ${value}`,
    );
  }
  return value;
}

function fraction(field: string, value: number): number {
  if (!Number.isFinite(value) || value < 0 || value >= 1) {
    throw new TrainError(field, `${field} must be in [0, 1), got ${value}`);
  }
  return value;
}

/**
 * Fills in defaults and checks every field; throws {@link TrainError} for an unknown name or an
 * out-of-range value.
 */
export function resolveOptimizerConfig(config: OptimizerName | OptimizerConfig): ResolvedOptimizerConfig {
  const c: OptimizerConfig = typeof config === 'string' ? { name: config } : config;
  if (!OPTIMIZER_NAMES.includes(c.name)) {
    throw new TrainError(
      'optimizer',
      `unknown optimizer ${JSON.stringify(c.name)}; expected one of ${OPTIMIZER_NAMES.join(', ')}`,
    );
  }
  const resolved: ResolvedOptimizerConfig = {
    name: c.name,
    learningRate: positive('learningRate', c.learningRate ?? (c.name === 'sgd' ? 1e-2 : 1e-3), false),
    momentum: fraction('momentum', c.momentum ?? 0),
    nesterov: c.nesterov ?? false,
    beta1: fraction('beta1', c.beta1 ?? 0.9),
    beta2: fraction('beta2', c.beta2 ?? 0.999),
    rho: fraction('rho', c.rho ?? 0.9),
    epsilon: positive('epsilon', c.epsilon ?? 1e-7, false),
    weightDecay: positive('weightDecay', c.weightDecay ?? (c.name === 'adamw' ? 0.01 : 0), true),
  };
  if (resolved.nesterov && (resolved.name !== 'sgd' || resolved.momentum === 0)) {
    throw new TrainError('nesterov', 'nesterov needs the sgd optimizer with momentum > 0');
  }
  return resolved;
}

function slotsFor(vars: readonly tf.Variable[], suffixes: readonly string[]): OptimizerSlot[] {
  const slots: OptimizerSlot[] = [];
  for (const suffix of suffixes) {
    vars.forEach((v, i) => {
      slots.push({ name: `${i}/${suffix}`, tensor: tf.tidy(() => tf.zerosLike(v).variable(false)) });
    });
  }
  return slots;
}

/**
 * One optimizer step on host arrays, for the compiled step: variable i's new value from its data
 * `weights[i]` and `grads[i]` written to `next[i]` (which may be `weights[i]`), and `slots[k]`, the
 * data of `slots[k].tensor`, updated in place.
 */
export type HostUpdate = (
  grads: readonly Float32Array[],
  weights: readonly Float32Array[],
  next: readonly Float32Array[],
  slots: readonly Float32Array[],
  lr: number,
) => void;

/** A {@link TrainOptimizer} as the training step holds it (not part of the package's API). */
export interface StepOptimizer extends TrainOptimizer {
  /** The update on host arrays, or null where this optimizer has none (only Adam and AdamW do). */
  readonly hostUpdate: HostUpdate | null;
}

/** Internal switches of {@link createOptimizerWith} (not part of the package's API). */
export interface OptimizerInternals {
  /**
   * Use `@lenet/backend`'s fused Adam update ({@link fusedAdamUpdate}) when the active backend has it
   * (default true); false forces the op-by-op path, for comparing the two.
   */
  fusedAdam?: boolean;
}

/**
 * Creates the optimizer for `vars` (a model's trainable weights, in a fixed order). The update
 * rules follow PyTorch: SGD with (Nesterov) momentum `buf ← μ·buf + g`, Adam/AdamW with bias
 * correction, RMSprop with optional momentum. Adam/AdamW run one fused kernel per variable where
 * the active backend has one (wasm with @lenet/backend's training kernels), else tfjs ops.
 */
export function createOptimizer(
  config: OptimizerName | OptimizerConfig,
  vars: readonly tf.Variable[],
): TrainOptimizer {
  return createOptimizerWith(config, vars, {});
}

/** {@link createOptimizer} with internal switches (for tests and measurements). */
export function createOptimizerWith(
  config: OptimizerName | OptimizerConfig,
  vars: readonly tf.Variable[],
  internals: OptimizerInternals,
): StepOptimizer {
  const cfg = resolveOptimizerConfig(config);
  const decays = vars.map((v) => v.rank >= 2);
  let suffixes: string[];
  switch (cfg.name) {
    case 'adam':
    case 'adamw':
      suffixes = ['m', 'v'];
      break;
    case 'sgd':
      suffixes = cfg.momentum > 0 ? ['momentum'] : [];
      break;
    case 'rmsprop':
      suffixes = cfg.momentum > 0 ? ['square', 'momentum'] : ['square'];
      break;
  }
  const slots = slotsFor(vars, suffixes);
  const n = vars.length;
  const slot = (k: number, i: number): tf.Variable => slots[k * n + i].tensor;
  let iterations = 0;

  const coupledDecay = (g: tf.Tensor, i: number): tf.Tensor =>
    cfg.weightDecay > 0 && cfg.name !== 'adamw' && decays[i]
      ? tf.add(g, tf.mul(vars[i], cfg.weightDecay))
      : g;

  /** The fused Adam/AdamW rule's attributes for variable i at update t (1-based). */
  const adamAttrs = (i: number, lr: number, t: number): AdamUpdateAttrs => {
    const coupled = cfg.name === 'adamw' ? 0 : cfg.weightDecay;
    const decoupled = cfg.name === 'adamw' ? cfg.weightDecay : 0;
    return {
      lr,
      beta1: cfg.beta1,
      beta2: cfg.beta2,
      epsilon: cfg.epsilon,
      bc1: 1 - cfg.beta1 ** t,
      bc2: 1 - cfg.beta2 ** t,
      decoupledDecay: decays[i] ? decoupled : 0,
      coupledDecay: decays[i] ? coupled : 0,
    };
  };

  /**
   * One Adam/AdamW step of every variable with the fused kernel: w, m and v each take the kernel's
   * new tensor (the old data is released by `assign`; the handles are disposed right away).
   */
  const applyFusedAdam = (
    update: FusedAdamUpdate,
    grads: readonly tf.Tensor[],
    lr: number,
    t: number,
  ): void => {
    for (let i = 0; i < n; i++) {
      const w = vars[i];
      const m = slot(0, i);
      const v = slot(1, i);
      const out = update({ w, g: grads[i], m, v }, adamAttrs(i, lr, t));
      try {
        w.assign(out.w);
        m.assign(out.m);
        v.assign(out.v);
      } finally {
        tf.dispose([out.w, out.m, out.v]);
      }
    }
  };

  // Asked at every update: the backend may be switched between two steps.
  const fusedAdam =
    internals.fusedAdam !== false && (cfg.name === 'adam' || cfg.name === 'adamw')
      ? fusedAdamUpdate
      : () => null;

  const apply = (grads: readonly tf.Tensor[], lr: number): void => {
    if (grads.length !== n) throw new TrainError('gradients', `expected ${n} gradients, got ${grads.length}`);
    const t = iterations + 1;
    const update = fusedAdam();
    if (update) {
      applyFusedAdam(update, grads, lr, t);
      iterations = t;
      return;
    }
    for (let i = 0; i < n; i++) {
      const w = vars[i];
      const g = coupledDecay(grads[i], i);
      switch (cfg.name) {
        case 'adam':
        case 'adamw': {
          const m = slot(0, i);
          const v = slot(1, i);
          const newM = tf.add(tf.mul(m, cfg.beta1), tf.mul(g, 1 - cfg.beta1));
          const newV = tf.add(tf.mul(v, cfg.beta2), tf.mul(tf.square(g), 1 - cfg.beta2));
          m.assign(newM);
          v.assign(newV);
          const bc1 = 1 - cfg.beta1 ** t;
          const bc2 = 1 - cfg.beta2 ** t;
          const denom = tf.add(tf.div(tf.sqrt(newV), Math.sqrt(bc2)), cfg.epsilon);
          let base: tf.Tensor = w;
          if (cfg.name === 'adamw' && cfg.weightDecay > 0 && decays[i]) {
            base = tf.mul(w, 1 - lr * cfg.weightDecay);
          }
          w.assign(tf.sub(base, tf.mul(tf.div(newM, denom), lr / bc1)));
          break;
        }
        case 'sgd': {
          let update = g;
          if (cfg.momentum > 0) {
            const buf = slot(0, i);
            const newBuf = tf.add(tf.mul(buf, cfg.momentum), g);
            buf.assign(newBuf);
            update = cfg.nesterov ? tf.add(g, tf.mul(newBuf, cfg.momentum)) : newBuf;
          }
          w.assign(tf.sub(w, tf.mul(update, lr)));
          break;
        }
        case 'rmsprop': {
          const sq = slot(0, i);
          const newSq = tf.add(tf.mul(sq, cfg.rho), tf.mul(tf.square(g), 1 - cfg.rho));
          sq.assign(newSq);
          const scaled = tf.div(g, tf.add(tf.sqrt(newSq), cfg.epsilon));
          if (cfg.momentum > 0) {
            const buf = slot(1, i);
            const newBuf = tf.add(tf.mul(buf, cfg.momentum), scaled);
            buf.assign(newBuf);
            w.assign(tf.sub(w, tf.mul(newBuf, lr)));
          } else {
            w.assign(tf.sub(w, tf.mul(scaled, lr)));
          }
          break;
        }
      }
    }
    iterations = t;
  };

  /** The same fused rule on host arrays (slots: the m of every variable, then the v). */
  const hostAdam: HostUpdate = (grads, weights, next, slotData, lr) => {
    if (grads.length !== n || weights.length !== n || next.length !== n || slotData.length !== 2 * n) {
      throw new TrainError(
        'gradients',
        `expected ${n} gradients and weights and ${2 * n} slots, got ${grads.length}, ${weights.length}, ${next.length} and ${slotData.length}`,
      );
    }
    const t = iterations + 1;
    for (let i = 0; i < n; i++) {
      const [m, v] = [slotData[i], slotData[n + i]];
      adamUpdateArrays(weights[i], grads[i], m, v, next[i], m, v, adamAttrs(i, lr, t));
    }
    iterations = t;
  };

  return {
    config: cfg,
    get iterations() {
      return iterations;
    },
    slots,
    apply,
    hostUpdate: cfg.name === 'adam' || cfg.name === 'adamw' ? hostAdam : null,
    restore(iter: number, values: readonly tf.Tensor[]): void {
      if (values.length !== slots.length) {
        throw new TrainError(
          'optimizer',
          `optimizer state has ${values.length} tensors, expected ${slots.length}`,
        );
      }
      values.forEach((value, k) => {
        const target = slots[k].tensor;
        if (!tf.util.arraysEqual(value.shape, target.shape)) {
          throw new TrainError(
            'optimizer',
            `optimizer state tensor ${slots[k].name} has shape [${value.shape}], expected [${target.shape}]`,
          );
        }
        target.assign(value);
      });
      iterations = iter;
    },
    dispose(): void {
      for (const s of slots) s.tensor.dispose();
    },
  };
}
