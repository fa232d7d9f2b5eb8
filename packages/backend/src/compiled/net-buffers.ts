import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { TensorInfo } from '../tfjs.js';
import * as tf from '../tfjs.js';
import { withKernelScope } from '../wasm-kernels/kernel-scope.js';
import type { SimdKernels } from '../wasm-kernels/simd.js';
import { type Stage, type StageIO, sizeOf } from './stage.js';

/** Room after every buffer: kernels may read one vector past their input (lenet_conv_filter_grad). */
export const SLACK_BYTES = 64;

/** Byte offsets handed out one buffer after the other, each 16-byte aligned with slack after it. */
function offsets(): { take: (floats: number) => number; bytes: () => number } {
  let bytes = 0;
  return {
    take: (floats: number) => {
      const at = bytes;
      bytes += Math.ceil((floats * 4) / 16) * 16 + SLACK_BYTES;
      return at;
    },
    bytes: () => bytes,
  };
}

/** Bytes of the stages' scratch block for batches of `n`, with `extraFloats` more (a sizing pass of their layout). */
export function scratchBytes(stages: readonly Stage[], n: number, extraFloats: number): number {
  const sizing = offsets();
  for (const stage of stages) stage.layout(n, sizing.take);
  sizing.take(extraFloats);
  return sizing.bytes();
}

/**
 * The buffers of a compiled net in the wasm heap, as tensors of the backend so that
 * `tf.memory()` counts them, and kept so that a `tf.tidy` around a step does not free them.
 */
export class NetBuffers {
  private tensors: tf.Tensor[] = [];

  constructor(
    private readonly simd: SimdKernels,
    private readonly backend: BackendWasm,
  ) {}

  /**
   * A float32 buffer of `shape`, with room for a vector read past its end (lenet_conv_filter_grad
   * reads dy so); the tensor info handed to kernels has the exact shape.
   */
  make(shape: number[]): TensorInfo {
    const info = this.backend.makeOutput([sizeOf(shape) + SLACK_BYTES / 4], 'float32');
    this.tensors.push(tf.keep(tf.engine().makeTensorFromTensorInfo(info)));
    return { dataId: info.dataId, shape, dtype: 'float32' };
  }

  /**
   * Each layer's input and output buffer for batches of `n` (a pass-through layer's output is its
   * input), and with `gradients` each one's loss gradient too (else `dy`/`dx` are 0).
   */
  chain(
    stages: readonly Stage[],
    inputShape: readonly number[],
    n: number,
    gradients: boolean,
  ): {
    input: TensorInfo;
    io: StageIO[];
  } {
    const input = this.make([n, ...inputShape]);
    const ptr = (info: TensorInfo) => this.simd.ptr(info);
    let x = { info: input, ptr: ptr(input) };
    let dx: { info: TensorInfo; ptr: number } | null = null;
    const io = stages.map((stage): StageIO => {
      if (stage.passThrough) {
        return {
          x: x.ptr,
          y: x.ptr,
          dx: dx?.ptr ?? 0,
          dy: dx?.ptr ?? 0,
          xInfo: x.info,
          yInfo: x.info,
          dxInfo: dx?.info ?? null,
          dyInfo: gradients ? (dx?.info ?? x.info) : null,
        };
      }
      const yInfo = this.make([n, ...stage.outShape]);
      const dyInfo = gradients ? this.make([n, ...stage.outShape]) : null;
      const layer: StageIO = {
        x: x.ptr,
        y: ptr(yInfo),
        dx: dx?.ptr ?? 0,
        dy: dyInfo ? ptr(dyInfo) : 0,
        xInfo: x.info,
        yInfo,
        dxInfo: dx?.info ?? null,
        dyInfo,
      };
      x = { info: yInfo, ptr: layer.y };
      dx = dyInfo ? { info: dyInfo, ptr: layer.dy } : null;
      return layer;
    });
    return { input, io };
  }

  /**
   * The stages' scratch for batches of `n` in one block, cleared to 0, and `extraFloats` more
   * floats at its end, whose byte offset it returns. Two passes over the stages' layout: one to
   * size the block, one to place their buffers in it.
   */
  scratch(stages: readonly Stage[], n: number, extraFloats: number): number {
    const bytes = scratchBytes(stages, n, extraFloats);
    const base = Math.ceil(this.simd.ptr(this.make([bytes / 4 + 4])) / 16) * 16;
    const placing = offsets();
    for (const stage of stages) stage.layout(n, (floats) => base + placing.take(floats));
    const extra = base + placing.take(extraFloats);
    this.simd.floats(base, bytes / 4).fill(0);
    return extra;
  }

  /** Frees every buffer. */
  release(): void {
    tf.dispose(this.tensors);
    this.tensors = [];
  }
}

/**
 * TensorFlow.js's own Softmax kernel over `logits` [n, outputs] (so the probabilities are bit for
 * bit those of a model's softmax), its result handed to `use` as a view valid during the call.
 */
export function softmaxOf(
  simd: SimdKernels,
  backend: BackendWasm,
  logits: TensorInfo,
  n: number,
  outputs: number,
  use: (probs: Float32Array) => void,
): void {
  const out = withKernelScope(backend, 'wasm', (k) =>
    k.run('Softmax', { logits: { ...logits, shape: [n, outputs] } }, { dim: 1 }),
  );
  try {
    use(simd.floats(simd.ptr(out), n * outputs));
  } finally {
    backend.disposeData(out.dataId);
  }
}
