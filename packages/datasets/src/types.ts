/** Labels: uint8 for up to 256 classes, uint16 beyond. */
export type Labels = Uint8Array | Uint16Array;

/**
 * An in-memory image classification set: uint8 pixels in NHWC order (`count * height * width *
 * channels` bytes), one label per image, and where it came from.
 */
export interface Dataset {
  images: Uint8Array;
  labels: Labels;
  count: number;
  height: number;
  width: number;
  channels: number;
  classNames: string[];
  /** Human-readable origin: the file(s) or folder the set was read from. */
  source: string;
}

/** Memory layout of a batch: channels-last (TensorFlow.js, Keras) or channels-first (PyTorch, ONNX). */
export type Layout = 'NHWC' | 'NCHW';

/** One batch of normalised float pixels and int32 labels; `shape` follows the requested layout. */
export interface Batch {
  x: Float32Array;
  y: Int32Array;
  shape: [number, number, number, number];
}
