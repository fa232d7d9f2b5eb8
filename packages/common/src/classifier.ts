/** Memory order of an image batch: `NHWC` (TensorFlow) or `NCHW` (PyTorch, ONNX). */
export type ImageLayout = 'NHWC' | 'NCHW';

/** Per-channel normalisation: `(pixel / 255 − mean) / std`. */
export interface ChannelNormalization {
  mean: readonly number[];
  std: readonly number[];
}

/** Pixel normalisation a model expects: `'unit'` (pixel / 255) or per-channel mean/std. */
export type PixelNormalization = 'unit' | ChannelNormalization;

/** A batch of normalised float32 images in the classifier's {@link ImageLayout}. */
export interface ImageBatchInput {
  x: Float32Array;
  shape: [number, number, number, number];
}

/**
 * Anything that turns a batch of images into class probabilities: a TensorFlow.js model, an ONNX
 * session. One `evaluate` and one `predict` work over every implementation.
 */
export interface Classifier {
  /** Number of classes (columns of the probabilities). */
  readonly classes: number;
  /** Input image size `[height, width, channels]`; `undefined` entries accept any size. */
  readonly inputSize: readonly [number | undefined, number | undefined, number | undefined];
  /** The layout the batches must be in. */
  readonly layout: ImageLayout;
  /** The normalisation the model was trained with. */
  readonly normalization: PixelNormalization;
  /** Class probabilities of a batch, row-major `n × classes` (rows sum to 1). */
  probabilities(batch: ImageBatchInput): Promise<Float32Array>;
}
