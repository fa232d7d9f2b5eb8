import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { BackendError } from '../errors.js';
import type { TensorInfo } from '../tfjs.js';
import * as tf from '../tfjs.js';
import type { SimdKernels } from '../wasm-kernels/simd.js';
import { compileTarget, makeStages, stillActive } from './make-stage.js';
import { NetBuffers, softmaxOf } from './net-buffers.js';
import { type NetSpec, netTrainableVariables, netVariables } from './net-spec.js';
import { type Stage, type StageIO, type StepInfo, sizeOf } from './stage.js';

/**
 * A network's training pass as a fixed sequence of SIMD kernels on buffers laid out once in the
 * wasm heap: no tape, no tensors, no per-op bookkeeping. The weights stay in the TF.js variables
 * named by the {@link NetSpec}, read and written in place. The `Float32Array`s it returns are views
 * of the wasm heap: valid until the next TF.js allocation on that backend (which may grow and
 * move the heap), so use them at once.
 */
export interface CompiledTrainingNet {
  /** Output floats per sample (the last layer's, before any softmax the loss applies). */
  readonly outputs: number;
  /** Whether the active backend is still the one it was compiled for (else take the tfjs path). */
  usable(): boolean;
  /**
   * The forward pass in training mode over `n` NHWC samples in `x` (n × input floats): dropout
   * masks from `dropoutSeeds` (one per dropout layer, in order, used where its rate is in (0, 1)), batch statistics, and the
   * batch-norm moving averages updated. Returns the output [n, outputs].
   */
  forward(x: Float32Array, n: number, dropoutSeeds: readonly number[]): Float32Array;
  /**
   * The softmax of the last forward pass's output [n, outputs], computed by TensorFlow.js's own
   * Softmax kernel (so the probabilities are bit for bit those of the model's softmax layer).
   */
  softmax(): Float32Array;
  /** The loss gradient of the last forward pass's output, to fill before {@link backward}: [n, outputs]. */
  outputGradient(): Float32Array;
  /** The backward pass from {@link outputGradient} to the gradient of every trainable variable. */
  backward(): void;
  /** The gradients of the last backward pass, one per trainable variable (see `netTrainableVariables`), in order. */
  gradients(): Float32Array[];
  /** The last forward pass's output [n, outputs] (a fresh view). */
  output(): Float32Array;
  /**
   * The optimizer step after {@link backward}: `fill` reads the gradients, the trainable
   * variables' data (`weights`, in `netTrainableVariables` order) and the optimizer's `slots`
   * (their data, updated in place), and writes each variable's new value to `next[i]`. Conv and
   * dense weights get new data that way — TF.js's XNNPACK kernels cache weights packed per tensor,
   * so a weight changed in place would leave them stale — and their old data is released; for the
   * others `next[i]` is `weights[i]`, updated in place. A variable or slot that shares its data
   * with another tensor (a clone someone kept) first gets a copy of its own, so the other stays.
   */
  applyUpdate(slots: readonly tf.Variable[], fill: (u: UpdateViews) => void): void;
  /** Frees the heap block (the variables are the model's and stay). */
  dispose(): void;
}

/** What {@link CompiledTrainingNet.applyUpdate} hands its update: views, valid during the call. */
export interface UpdateViews {
  grads: Float32Array[];
  weights: Float32Array[];
  next: Float32Array[];
  slots: Float32Array[];
}

class TrainingNet implements CompiledTrainingNet {
  readonly outputs: number;
  private readonly stages: Stage[];
  private readonly needDx: boolean[];
  private readonly inputShape: number[];
  private readonly trainable: tf.Variable[];
  /** Per trainable variable: a conv or dense weight, which XNNPACK may hold packed. */
  private readonly packable: boolean[];
  private readonly variables: tf.Variable[];
  private readonly dropoutCount: number;
  /** The batch size the buffers are laid out for (0: none yet). */
  private n = 0;
  /** Every buffer: the input, each layer's output and output gradient, one block for the layers' scratch. */
  private readonly buffers: NetBuffers;
  private io: StageIO[] = [];
  private input: TensorInfo | null = null;
  private probs = 0;
  /** Byte offsets of the weight gradients (the stages', in trainable-variable order), from the layout. */
  private gradPtrs: number[] = [];
  private readonly gradSizes: number[];
  private seeds: readonly number[] = [];
  private ran: 'none' | 'forward' | 'backward' = 'none';
  private readonly step: StepInfo;
  private disposed = false;

  constructor(
    private readonly simd: SimdKernels,
    private readonly backend: BackendWasm,
    spec: NetSpec,
  ) {
    this.inputShape = [...spec.input];
    const made = makeStages(simd, backend, spec, 'train');
    this.stages = made.stages;
    this.needDx = made.needDx;
    this.dropoutCount = made.dropouts;
    this.outputs = made.outputs;
    this.buffers = new NetBuffers(simd, backend);
    this.trainable = netTrainableVariables(spec);
    this.packable = spec.layers.flatMap((l) =>
      l.type === 'conv2d' || l.type === 'dense'
        ? [true, ...(l.bias ? [true] : [])]
        : l.type === 'batchNorm'
          ? [false, false]
          : [],
    );
    this.variables = netVariables(spec);
    this.gradSizes = this.trainable.map((v) => v.size);
    this.step = {
      n: 0,
      dropoutSeed: (k) => this.seeds[k],
    };
  }

  usable(): boolean {
    return !this.disposed && stillActive(this.backend);
  }

  /**
   * Lays the buffers out for batches of `n`: the input and each layer's output and output
   * gradient as tensors, the layers' scratch in one more, cleared to 0.
   */
  private layout(n: number): void {
    this.release();
    const { input, io } = this.buffers.chain(this.stages, this.inputShape, n, true);
    this.input = input;
    this.io = io;
    this.probs = this.buffers.scratch(this.stages, n, n * this.outputs);
    this.gradPtrs = this.stages.flatMap((s) => s.gradients());
    this.n = n;
  }

  private release(): void {
    this.buffers.release();
    this.io = [];
    this.input = null;
    this.gradPtrs = [];
    this.n = 0;
    this.ran = 'none';
  }

  private check(after?: 'forward' | 'backward'): void {
    if (this.disposed) throw new BackendError('compiled training net: used after dispose', 'wasm');
    if (!this.usable()) {
      throw new BackendError(
        'compiled training net: the active backend is not the wasm backend it was compiled for',
        'wasm',
      );
    }
    if (after === 'forward' && this.ran === 'none') {
      throw new BackendError('compiled training net: forward() has not run', 'wasm');
    }
    if (after === 'backward' && this.ran !== 'backward') {
      throw new BackendError('compiled training net: backward() has not run', 'wasm');
    }
  }

  /** Gives each variable data of its own (see {@link CompiledTrainingNet.writableViews}); may allocate. */
  private own(variables: readonly tf.Variable[]): void {
    for (const v of variables) {
      if (this.backend.refCount(v.dataId) <= 1) continue;
      const copy = tf.tensor(v.dataSync() as Float32Array, v.shape, 'float32');
      v.assign(copy);
      copy.dispose();
    }
  }

  forward(x: Float32Array, n: number, dropoutSeeds: readonly number[]): Float32Array {
    this.check();
    const inputFloats = sizeOf(this.inputShape);
    if (!Number.isInteger(n) || n < 1 || x.length < n * inputFloats) {
      throw new BackendError(
        `compiled training net: ${x.length} input floats for a batch of ${n} samples of ${inputFloats}`,
        'wasm',
      );
    }
    if (dropoutSeeds.length < this.dropoutCount) {
      throw new BackendError(
        `compiled training net: ${dropoutSeeds.length} dropout seeds for ${this.dropoutCount} dropout layers`,
        'wasm',
      );
    }
    // Everything that may allocate (and so move the heap) comes first.
    this.own(this.variables);
    if (n !== this.n) this.layout(n);
    this.seeds = dropoutSeeds;
    this.step.n = n;
    this.simd
      .floats(this.simd.ptr(this.input as TensorInfo), n * inputFloats)
      .set(x.subarray(0, n * inputFloats));
    this.stages.forEach((stage, i) => {
      stage.forward(this.io[i], this.step);
    });
    this.ran = 'forward';
    return this.simd.floats(this.lastIO().y, n * this.outputs);
  }

  private lastIO(): StageIO {
    const io = this.io[this.io.length - 1];
    if (io !== undefined) return io;
    const input = this.input as TensorInfo;
    const p = this.simd.ptr(input);
    return { x: p, y: p, dx: 0, dy: 0, xInfo: input, yInfo: input, dxInfo: null, dyInfo: input };
  }

  softmax(): Float32Array {
    this.check('forward');
    const n = this.n;
    softmaxOf(this.simd, this.backend, this.lastIO().yInfo, n, this.outputs, (p) => {
      this.simd.floats(this.probs, n * this.outputs).set(p);
    });
    return this.simd.floats(this.probs, n * this.outputs);
  }

  outputGradient(): Float32Array {
    this.check('forward');
    return this.simd.floats(this.lastIO().dy, this.n * this.outputs);
  }

  backward(): void {
    this.check('forward');
    for (let i = this.stages.length - 1; i >= 0; i--) {
      this.stages[i].backward(this.io[i], this.step, this.needDx[i]);
    }
    this.ran = 'backward';
  }

  gradients(): Float32Array[] {
    this.check('backward');
    // One view of the heap for all (each new one costs about a microsecond).
    const heap = this.simd.heap();
    return this.gradPtrs.map((ptr, i) => heap.subarray(ptr / 4, ptr / 4 + this.gradSizes[i]));
  }

  output(): Float32Array {
    this.check('forward');
    return this.simd.floats(this.lastIO().y, this.n * this.outputs);
  }

  applyUpdate(slots: readonly tf.Variable[], fill: (u: UpdateViews) => void): void {
    this.check('backward');
    this.own([...this.trainable, ...slots]);
    // New data for the packable weights, allocated before any view is taken.
    const fresh = this.trainable.map((v, i) =>
      this.packable[i] ? this.backend.makeOutput(v.shape as number[], 'float32') : null,
    );
    const heap = this.simd.heap();
    const view = (t: TensorInfo) => {
      const at = this.simd.ptr(t) / 4;
      return heap.subarray(at, at + sizeOf(t.shape));
    };
    try {
      const weights = this.trainable.map(view);
      fill({
        grads: this.gradients(),
        weights,
        next: fresh.map((t, i) => (t === null ? weights[i] : view(t))),
        slots: slots.map(view),
      });
    } catch (error) {
      for (const t of fresh) if (t !== null) this.backend.disposeData(t.dataId);
      throw error;
    }
    fresh.forEach((t, i) => {
      if (t === null) return;
      const tensor = tf.engine().makeTensorFromTensorInfo(t);
      this.trainable[i].assign(tensor);
      tensor.dispose();
    });
  }

  dispose(): void {
    this.release();
    this.disposed = true;
  }
}

/**
 * Compiles `spec` for the active backend: a {@link CompiledTrainingNet} when that is wasm with
 * this package's SIMD kernels, else undefined (take TensorFlow.js's autodiff). Throws a
 * BackendError naming the layer when the spec does not fit its variables or shapes.
 */
export function compileTrainingNet(spec: NetSpec): CompiledTrainingNet | undefined {
  const target = compileTarget();
  return target && new TrainingNet(target.simd, target.backend, spec);
}
