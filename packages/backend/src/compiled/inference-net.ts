import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { BackendError } from '../errors.js';
import type { TensorInfo } from '../tfjs.js';
import type { SimdKernels } from '../wasm-kernels/simd.js';
import { compileTarget, makeStages, stillActive } from './make-stage.js';
import { NetBuffers, softmaxOf } from './net-buffers.js';
import type { NetSpec } from './net-spec.js';
import { type Stage, type StageIO, type StepInfo, sizeOf } from './stage.js';

/**
 * A network's forward pass in inference mode as a fixed sequence of SIMD kernels on buffers laid
 * out once in the wasm heap: what `model.predict` computes on this package's kernels (dropout
 * off, batch norm on its moving statistics, the fused convolution and dense kernels of
 * inference), bit for bit, without tensors or per-op bookkeeping. It reads the weights from the
 * TF.js variables named by the {@link NetSpec} at every call, so it sees them change.
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
  private io: StageIO[] = [];
  private input: TensorInfo | null = null;
  private readonly step: StepInfo = {
    n: 0,
    dropoutSeed: () => {
      throw new BackendError('compiled inference net: no dropout in inference', 'wasm');
    },
  };
  private disposed = false;

  constructor(
    private readonly simd: SimdKernels,
    private readonly backend: BackendWasm,
    spec: NetSpec,
  ) {
    this.inputShape = [...spec.input];
    const made = makeStages(simd, backend, spec, 'infer');
    this.stages = made.stages;
    this.outputs = made.outputs;
    this.buffers = new NetBuffers(simd, backend);
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
    if (n > this.capacity) this.layout(n);
    const input = this.input as TensorInfo;
    this.simd.floats(this.simd.ptr(input), n * inputFloats).set(x.subarray(0, n * inputFloats));
    this.step.n = n;
    // Kernels that take tensor infos (XNNPACK's) read the batch from their shapes.
    const io =
      n === this.capacity
        ? this.io
        : this.io.map((l) => ({ ...l, xInfo: withBatch(l.xInfo, n), yInfo: withBatch(l.yInfo, n) }));
    this.stages.forEach((stage, i) => {
      stage.forward(io[i], this.step);
    });
    const logits = io.length > 0 ? io[io.length - 1].yInfo : withBatch(input, n);
    softmaxOf(this.simd, this.backend, logits, n, this.outputs, (p) => {
      result.set(p);
    });
    return result;
  }

  release(): void {
    this.buffers.release();
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
 * (and again for a larger one).
 */
export function compileInferenceNet(spec: NetSpec): CompiledInferenceNet | undefined {
  const target = compileTarget();
  return target && new InferenceNet(target.simd, target.backend, spec);
}
