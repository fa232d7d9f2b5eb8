import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { BackendError } from '../errors.js';
import type { TensorInfo } from '../tfjs.js';
import type { SimdKernels } from '../wasm-kernels/simd.js';
import { flushSplitOutput, keepSplitOutputs, splitChainEnabled } from '../wasm-kernels/split.js';
import { compileTarget, makeStages, stillActive } from './make-stage.js';
import { NetBuffers, SLACK_BYTES, scratchBytes, softmaxOf } from './net-buffers.js';
import type { NetSpec } from './net-spec.js';
import { type Stage, type StageIO, type StepInfo, sizeOf } from './stage.js';

/**
 * A network's forward pass in inference mode as a fixed sequence of SIMD kernels on buffers laid
 * out once in the wasm heap: what `model.predict` computes on this package's kernels (dropout
 * off, batch norm on its moving statistics, the fused convolution and dense kernels of
 * inference) without tensors or per-op bookkeeping. With graph fusion (on unless
 * `setInferenceFusionEnabled(false)`), a batch norm right after a linear conv2d or dense layer is
 * folded into its weights and an activation after one runs inside it: the probabilities are then
 * within float32 rounding of `model.predict`'s (about 1e-6 relative); bit for bit without a
 * folded batch norm or with fusion off. It reads the weights from the TF.js variables named by
 * the {@link NetSpec} at every call, so it sees them change.
 */
export interface CompiledInferenceNet {
  /** Probabilities per sample (the last layer's outputs). */
  readonly outputs: number;
  /** Whether the active backend is still the one it was compiled for (else take the tfjs path). */
  usable(): boolean;
  /**
   * The class probabilities of `n` NHWC samples in `x` (n × input floats): the forward pass, then
   * the softmax of the last layer's output with TensorFlow.js's own Softmax kernel (the model's
   * softmax, or the one a caller applies to a model that ends in logits). Written to `out`
   * (n × outputs floats) when given, else to a new array, which it returns.
   */
  probabilities(x: Float32Array, n: number, out?: Float32Array): Float32Array;
  /** Frees the buffers until the next call, which lays them out again (for a caller that keeps the net between uses). */
  release(): void;
  /** Frees the buffers for good (the variables are the model's and stay). */
  dispose(): void;
}

/** Options of {@link compileInferenceNet}. */
export interface InferenceNetOptions {
  /**
   * Most bytes its buffers may take (default 64 MiB): a larger batch runs in parts of as many
   * samples as fit (at least one, whatever that takes), as `model.predict` runs batches of 32, so that a big input
   * (256×256×3 images) does not exhaust the wasm heap. LeNet-sized nets fit thousands.
   */
  maxBufferBytes?: number;
}

const DEFAULT_MAX_BUFFER_BYTES = 64 * 1024 * 1024;

/** An info of the same buffer with a batch of `n`. */
function withBatch(info: TensorInfo, n: number): TensorInfo {
  return info.shape[0] === n ? info : { ...info, shape: [n, ...info.shape.slice(1)] };
}

class InferenceNet implements CompiledInferenceNet {
  readonly outputs: number;
  private readonly stages: Stage[];
  private readonly inputShape: number[];
  private readonly buffers: NetBuffers;
  /** The largest batch the buffers hold (0: none yet); smaller batches use them as they are. */
  private capacity = 0;
  /** Samples per forward pass, from the buffer budget. */
  private readonly maxBatch: number;
  private io: StageIO[] = [];
  private input: TensorInfo | null = null;
  private readonly step: StepInfo = {
    n: 0,
    dropoutSeed: () => {
      throw new BackendError('compiled inference net: no dropout in inference', 'wasm');
    },
  };
  private disposed = false;
  /**
   * Per stage: whether the helpers may keep their shares of its output for the next stage that
   * is not a pass-through (its split kernel reads them; see `keepSplitOutputs`).
   */
  private readonly keeps: boolean[];

  constructor(
    private readonly simd: SimdKernels,
    private readonly backend: BackendWasm,
    spec: NetSpec,
    maxBufferBytes: number,
  ) {
    this.inputShape = [...spec.input];
    const made = makeStages(simd, backend, spec, 'infer');
    this.stages = made.stages;
    this.outputs = made.outputs;
    this.keeps = this.stages.map((stage, i) => {
      const next = this.stages.slice(i + 1).find((st) => !st.passThrough);
      return stage.splitChain?.output === true && next?.splitChain?.input === true;
    });
    this.buffers = new NetBuffers(simd, backend);
    // The buffers' bytes for n samples, a·n + b: the input and every layer's output (each with its
    // slack), and the scratch block (part of it grows with the batch).
    const outputs = this.stages.filter((st) => !st.passThrough);
    const bytes = (n: number) =>
      outputs.reduce((a, st) => a + 4 * n * sizeOf(st.outShape) + SLACK_BYTES, 0) +
      4 * n * sizeOf(this.inputShape) +
      SLACK_BYTES +
      scratchBytes(this.stages, n, 0) +
      16;
    const perSample = bytes(2) - bytes(1);
    this.maxBatch = Math.max(1, Math.floor((maxBufferBytes - (bytes(1) - perSample)) / perSample));
  }

  usable(): boolean {
    return !this.disposed && stillActive(this.backend);
  }

  private layout(n: number): void {
    this.buffers.release();
    const { input, io } = this.buffers.chain(this.stages, this.inputShape, n, false);
    this.input = input;
    this.io = io;
    this.buffers.scratch(this.stages, n, 0);
    this.capacity = n;
  }

  probabilities(x: Float32Array, n: number, out?: Float32Array): Float32Array {
    if (this.disposed) throw new BackendError('compiled inference net: used after dispose', 'wasm');
    if (!this.usable()) {
      throw new BackendError(
        'compiled inference net: the active backend is not the wasm backend it was compiled for',
        'wasm',
      );
    }
    const inputFloats = sizeOf(this.inputShape);
    if (!Number.isInteger(n) || n < 1 || x.length < n * inputFloats) {
      throw new BackendError(
        `compiled inference net: ${x.length} input floats for a batch of ${n} samples of ${inputFloats}`,
        'wasm',
      );
    }
    const result = out ?? new Float32Array(n * this.outputs);
    if (result.length < n * this.outputs) {
      throw new BackendError(
        `compiled inference net: room for ${result.length} probabilities, ${n * this.outputs} needed`,
        'wasm',
      );
    }
    for (let start = 0; start < n; start += this.maxBatch) {
      const m = Math.min(this.maxBatch, n - start);
      this.run(x.subarray(start * inputFloats, (start + m) * inputFloats), m, result, start * this.outputs);
    }
    return result;
  }

  /** One forward pass of `n` samples, their probabilities written to `out` from `at`. */
  private run(x: Float32Array, n: number, out: Float32Array, at: number): void {
    if (n > this.capacity) this.layout(n);
    const input = this.input as TensorInfo;
    this.simd.floats(this.simd.ptr(input), x.length).set(x);
    this.step.n = n;
    // Kernels that take tensor infos (XNNPACK's) read the batch from their shapes.
    const io =
      n === this.capacity
        ? this.io
        : this.io.map((l) => ({ ...l, xInfo: withBatch(l.xInfo, n), yInfo: withBatch(l.yInfo, n) }));
    const chain = splitChainEnabled();
    try {
      this.stages.forEach((stage, i) => {
        // A kept output is read by this stage's split kernel, or copied back first.
        if (!stage.passThrough && !stage.splitChain?.input) flushSplitOutput(this.simd);
        keepSplitOutputs(chain && this.keeps[i]);
        stage.forward(io[i], this.step);
      });
    } finally {
      keepSplitOutputs(false);
      flushSplitOutput(this.simd);
    }
    const logits = io.length > 0 ? io[io.length - 1].yInfo : withBatch(input, n);
    softmaxOf(this.simd, this.backend, logits, n, this.outputs, (p) => {
      out.set(p, at);
    });
  }

  release(): void {
    this.buffers.release();
    // The transformed weights go with the buffers: a net its owner releases but never disposes
    // (a classifier) must hold nothing between uses.
    for (const stage of this.stages) stage.dispose?.();
    this.io = [];
    this.input = null;
    this.capacity = 0;
  }

  dispose(): void {
    this.release();
    this.disposed = true;
  }
}

/**
 * Compiles `spec`'s forward pass in inference mode for the active backend: a
 * {@link CompiledInferenceNet} when that is wasm with this package's SIMD kernels, else undefined
 * (take `model.predict`). Throws a BackendError naming the layer when the spec does not fit its
 * variables or shapes. The net's buffers are laid out at its first call, for that batch size
 * (and again for a larger one), within `options.maxBufferBytes`.
 */
export function compileInferenceNet(
  spec: NetSpec,
  options: InferenceNetOptions = {},
): CompiledInferenceNet | undefined {
  const maxBufferBytes = options.maxBufferBytes ?? DEFAULT_MAX_BUFFER_BYTES;
  if (!(maxBufferBytes > 0)) {
    throw new BackendError(
      `compiled inference net: maxBufferBytes must be positive, got ${maxBufferBytes}`,
      'wasm',
    );
  }
  const target = compileTarget();
  return target && new InferenceNet(target.simd, target.backend, spec, maxBufferBytes);
}
