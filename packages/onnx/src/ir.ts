/**
 * The exporter's intermediate form: a linear chain of operations already in ONNX terms
 * (channels-first, kernels `[out, in, kh, kw]`), produced from TensorFlow.js layers
 * (`layers.ts`), rewritten by passes (`fold.ts`) and written out as ONNX nodes (`graph.ts`).
 */

/** Shape of the value flowing between operations, without the batch dimension. */
export type ValueShape =
  | { kind: 'image'; c: number; h: number; w: number }
  | { kind: 'flat'; features: number };

/** Element-wise activations (and the two normalising ones, which run over the channel axis). */
export type ActivationFn =
  | 'relu'
  | 'relu6'
  | 'leakyRelu'
  | 'elu'
  | 'selu'
  | 'tanh'
  | 'sigmoid'
  | 'hardSigmoid'
  | 'softplus'
  | 'softsign'
  | 'swish'
  | 'mish'
  | 'softmax'
  | 'logSoftmax';

/** 2-D convolution, weight `[out, in, kh, kw]` row-major, pads `[top, left, bottom, right]`. */
export interface ConvOp {
  kind: 'conv';
  layer: string;
  weight: Float32Array;
  dims: [number, number, number, number];
  bias: Float32Array | null;
  strides: [number, number];
  dilations: [number, number];
  pads: [number, number, number, number];
}

/** Fully connected layer, weight `[in, out]` row-major (ONNX Gemm with transB = 0). */
export interface GemmOp {
  kind: 'gemm';
  layer: string;
  weight: Float32Array;
  inFeatures: number;
  outFeatures: number;
  bias: Float32Array | null;
}

/** Inference-mode batch normalisation over the channel axis (axis 1 in ONNX). */
export interface BatchNormOp {
  kind: 'batchNorm';
  layer: string;
  gamma: Float32Array;
  beta: Float32Array;
  mean: Float32Array;
  variance: Float32Array;
  epsilon: number;
}

/** An activation; `alpha` for leakyRelu/elu. */
export interface ActivationOp {
  kind: 'activation';
  layer: string;
  fn: ActivationFn;
  alpha?: number;
  /** Upper clip for ReLU layers with `maxValue`. */
  max?: number;
}

/** Constant zero padding of height and width, `[top, left, bottom, right]`. */
export interface PadOp {
  kind: 'pad';
  layer: string;
  pads: [number, number, number, number];
}

/** Max or average pooling; average pooling never counts padding (as Keras). */
export interface PoolOp {
  kind: 'maxPool' | 'avgPool';
  layer: string;
  kernel: [number, number];
  strides: [number, number];
  pads: [number, number, number, number];
}

/** Global average pooling to `[N, C]`. */
export interface GlobalAvgPoolOp {
  kind: 'globalAvgPool';
  layer: string;
}

/**
 * Flatten to `[N, features]`. With `toChannelsLast`, the NCHW value is transposed to NHWC first
 * so the order is the one Keras uses; otherwise the flattened order is NCHW (and the following
 * Dense rows were permuted to match, or the order does not matter).
 */
export interface FlattenOp {
  kind: 'flatten';
  layer: string;
  toChannelsLast: boolean;
}

/** One operation of the chain. */
export type IrOp =
  | ConvOp
  | GemmOp
  | BatchNormOp
  | ActivationOp
  | PadOp
  | PoolOp
  | GlobalAvgPoolOp
  | FlattenOp;

/** The whole network as a chain. */
export interface IrGraph {
  /** Input shape `[h, w, c]` (channels-last, as the TensorFlow.js model sees it). */
  inputHwc: [number, number, number];
  ops: IrOp[];
  /** Output features (classes). */
  outputs: number;
}
