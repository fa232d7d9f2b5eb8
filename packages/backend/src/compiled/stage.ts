import type { TensorInfo } from '../tfjs.js';

/**
 * What a compiled net runs: `'train'` (forward in training mode, backward, every buffer for both)
 * or `'infer'` (the forward pass as `predict` runs it: dropout off, batch norm on its moving
 * statistics, the fused kernels of inference; no gradient buffers).
 */
export type NetMode = 'train' | 'infer';

/** Hands out `floats` floats of the net's one heap block (byte offset); counts them on the sizing pass. */
export type Take = (floats: number) => number;

/**
 * Where one layer reads and writes: tensors of the wasm backend (so that a layer can also hand
 * them to a registered TF.js kernel), with their byte offsets into its memory.
 */
export interface StageIO {
  /** Its input [n, ...inShape] and output [n, ...outShape]. */
  x: number;
  y: number;
  /**
   * The loss gradient of its output (filled by the layer after it) and of its input (its to fill;
   * 0 when none is needed, and both 0 in a net that only infers).
   */
  dy: number;
  dx: number;
  xInfo: TensorInfo;
  yInfo: TensorInfo;
  dyInfo: TensorInfo | null;
  dxInfo: TensorInfo | null;
}

/** What a layer's pass knows of the step. */
export interface StepInfo {
  n: number;
  /** The dropout seed of this step for dropout layer `k` (in network order). */
  dropoutSeed(k: number): number;
}

/**
 * One layer of the compiled net: its fixed sequence of SIMD kernels forward and backward, on
 * buffers the net lays out once per batch size. Gradients of its weights go to buffers it owns.
 */
export interface Stage {
  /** Per-sample output shape. */
  readonly outShape: number[];
  /** True when the output is the input itself (flatten, a linear activation, dropout at rate 0). */
  readonly passThrough: boolean;
  /**
   * Inference: whether its forward reads x only as the first per-image input of one split kernel
   * call (nothing on the calling thread reads x first), and whether it writes y only as that
   * call's per-image output, last. The net then leaves the helpers' shares of an output where
   * they are for the next stage to read (see `keepSplitOutputs`). Absent: neither.
   */
  readonly splitChain?: { input: boolean; output: boolean };
  /** Takes its scratch (and, in a training net, weight-gradient) buffers for batches of up to `n`. */
  layout(n: number, take: Take): void;
  forward(io: StageIO, step: StepInfo): void;
  /** Weight gradients, and the input gradient when `needDx` (no layer before it has weights: none). */
  backward(io: StageIO, step: StepInfo, needDx: boolean): void;
  /** Byte offsets of its weight gradients, in the order of its trainable variables. */
  gradients(): number[];
  /** Frees what it keeps outside the net's buffers (transformed weights), when it keeps any; used again, it makes them anew. */
  dispose?(): void;
}

/** Product of a shape's dimensions. */
export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
