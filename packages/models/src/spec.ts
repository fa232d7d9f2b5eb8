/**
 * The declarative, JSON-serialisable description of a LeNet-family network.
 * Shapes are channels-last (`[height, width, channels]`), as in Keras and TensorFlow.js.
 */

/** Convolution/pooling padding: Keras `'same'`/`'valid'`, or an explicit symmetric pad in pixels. */
export type Padding = 'same' | 'valid' | number;

/** Activation functions a layer may apply. `'linear'` means none. */
export type ActivationName = 'relu' | 'tanh' | 'sigmoid' | 'elu' | 'swish' | 'softmax' | 'linear';

/** Weight initialisers. Defaults: He normal for layers followed by relu, Glorot uniform otherwise. */
export type InitializerName = 'heNormal' | 'heUniform' | 'glorotUniform' | 'glorotNormal' | 'zeros';

/** A 2-D size given as one number (square) or `[height, width]`. */
export type Size2 = number | [number, number];

/** 2-D convolution. `activation` fuses an activation into the layer, as Keras `Conv2D(activation=…)`. */
export interface Conv2dLayer {
  type: 'conv2d';
  filters: number;
  kernel: Size2;
  stride?: Size2;
  padding?: Padding;
  useBias?: boolean;
  activation?: ActivationName;
  kernelInitializer?: InitializerName;
  name?: string;
}

/**
 * Batch normalisation over the last axis. `momentum` follows Keras (weight of the old moving
 * average, default 0.99); PyTorch's `momentum=0.1` is Keras `0.9`.
 */
export interface BatchNormLayer {
  type: 'batchNorm';
  momentum?: number;
  epsilon?: number;
  name?: string;
}

/** Dropout with the given drop rate, active only in training. */
export interface DropoutLayer {
  type: 'dropout';
  rate: number;
  name?: string;
}

/** A stand-alone activation layer. */
export interface ActivationLayer {
  type: 'activation';
  activation: ActivationName;
  name?: string;
}

/** Max or average pooling; `stride` defaults to `size`, `padding` to `'valid'`. */
export interface PoolLayer {
  type: 'maxPool' | 'avgPool';
  size: Size2;
  stride?: Size2;
  padding?: 'same' | 'valid';
  name?: string;
}

/** Global average pooling over height and width. */
export interface GlobalAvgPoolLayer {
  type: 'globalAvgPool';
  name?: string;
}

/** Flattens `[h, w, c]` to `[h*w*c]` in channels-last order, as Keras does. */
export interface FlattenLayer {
  type: 'flatten';
  name?: string;
}

/** Fully connected layer. */
export interface DenseLayer {
  type: 'dense';
  units: number;
  useBias?: boolean;
  activation?: ActivationName;
  kernelInitializer?: InitializerName;
  name?: string;
}

/** One layer of a {@link ModelSpec}. */
export type LayerSpec =
  | Conv2dLayer
  | BatchNormLayer
  | DropoutLayer
  | ActivationLayer
  | PoolLayer
  | GlobalAvgPoolLayer
  | FlattenLayer
  | DenseLayer;

/** A whole network: input shape `[h, w, c]`, class count and an ordered list of layers. */
export interface ModelSpec {
  name: string;
  description?: string;
  input: [number, number, number];
  classes: number;
  layers: LayerSpec[];
  /**
   * What was changed from a preset's published form to fit this input shape and class count
   * (filled in by `getPreset`; shown under the summaries). Absent or empty when nothing changed.
   */
  adaptations?: string[];
}

/** Every layer `type` a spec may use, in the order the docs list them. */
export const layerTypes = [
  'conv2d',
  'batchNorm',
  'dropout',
  'activation',
  'maxPool',
  'avgPool',
  'globalAvgPool',
  'flatten',
  'dense',
] as const satisfies readonly LayerSpec['type'][];

/** The `type` field of a {@link LayerSpec}. */
export type LayerType = LayerSpec['type'];

/** Every activation name a spec may use. */
export const activationNames = [
  'relu',
  'tanh',
  'sigmoid',
  'elu',
  'swish',
  'softmax',
  'linear',
] as const satisfies readonly ActivationName[];

/** Every initialiser name a spec may use. */
export const initializerNames = [
  'heNormal',
  'heUniform',
  'glorotUniform',
  'glorotNormal',
  'zeros',
] as const satisfies readonly InitializerName[];
