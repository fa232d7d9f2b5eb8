import type { CrossEntropyOptions } from '../loss.js';

/** What the main thread gives every gradient worker when it starts (`workerData`). */
export interface WorkerInit {
  /** 1-based index of this worker (shard 0 is the main thread). */
  index: number;
  /** The model spec (`@lenet/models` ModelSpec as plain JSON). */
  spec: unknown;
  /** `useBackend` name to run on ('wasm', 'cpu', 'tensorflow'). */
  backend: string;
  /** Weights broadcast: trainable weights then non-trainable ones, flattened, float32. */
  weights: SharedArrayBuffer;
  /** This worker's results, in the broadcast layout (see {@link GradsReply}), float32. */
  grads: SharedArrayBuffer;
  /** Cross-entropy settings of the run. */
  ce: CrossEntropyOptions;
  /** Compute the gradients with the compiled training net (where the main thread's step runs compiled). */
  compiled: boolean;
}

/** Main → worker: compute the gradients of one shard. */
export interface StepRequest {
  type: 'step';
  step: number;
  /**
   * NHWC pixels of the shard. `x` and `y` are views of buffers shared with the main thread (reused
   * from step to step: allocating a fresh transferable buffer of a shard cost ~3.5 ms at 400 kB).
   */
  x: Float32Array;
  y: Int32Array;
  shape: [number, number, number, number];
  /** Dropout seed per dropout layer, in model order. */
  dropoutSeeds: number[];
}

/** Worker → main: ready, with the weight shapes of the model it built (to check against the main's). */
export interface ReadyReply {
  type: 'ready';
  trainable: number[][];
  nonTrainable: number[][];
  backend: string;
  /** How this worker computes its gradients, and why autodiff where it was asked for the compiled net. */
  path: ShardPath;
}

/** How a shard's gradients are computed: `kind` as in the training step's `path`. */
export interface ShardPath {
  kind: 'compiled' | 'autodiff';
  reason: string | null;
}

/**
 * Worker → main: a shard's result is in the worker's `grads` buffer: the mean-loss gradients of
 * the trainable weights, then the non-trainable weights after the shard's forward pass
 * (batch-norm moving statistics), in the broadcast layout.
 */
export interface GradsReply {
  type: 'grads';
  step: number;
  /** Mean cross-entropy over the shard. */
  loss: number;
  correct: number;
  /** Σ of the model output (NaN/Inf when the output is not finite). */
  outputSum: number;
}

/** Worker → main: something failed. */
export interface ErrorReply {
  type: 'error';
  step: number | null;
  message: string;
}

/** Every message a worker sends. */
export type WorkerReply = ReadyReply | GradsReply | ErrorReply;
