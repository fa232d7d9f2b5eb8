/** @lenet/onnx public API. */

/** Structural checks on an ONNX model, after `onnx.checker`. */
export { checkOnnxModel, type OnnxCheckReport } from './check.js';
/**
 * onnxruntime-node inference (an optional peer dependency): `OnnxClassifier.load(path)`, `predict`,
 * `info`, `dispose`; a `Classifier` for `@lenet/train`'s `evaluate` and `predict`.
 */
export {
  type ClassifierInfo,
  type ClassifierOptions,
  type Dim,
  type GraphOptimization,
  ONNX_MAX_INPUT_BYTES,
  OnnxClassifier,
  type OnnxLogLevel,
  type Prediction,
  type PredictOptions,
} from './classifier.js';
/** The error class thrown on bad input, and its codes. */
export { OnnxError, type OnnxErrorCode } from './errors.js';
/** The exporter: TensorFlow.js LayersModel (or spec + weights) → ONNX file, bytes or proto. */
export {
  DEFAULT_OPSET,
  type ExportOptions,
  type ExportResult,
  type ExportSource,
  exportOnnx,
  irVersionForOpset,
  MAX_OPSET,
  MIN_OPSET,
  type SpecWithWeights,
  toOnnxBytes,
  toOnnxModel,
} from './export.js';
/** Float16 conversion used for `weightType: 'float16'`. */
export { fromFloat16Bits, toFloat16Bits } from './float16.js';
/** How the Keras Flatten order is kept. */
export type { FlattenStrategy } from './layers/flatten.js';
/** The `lenet.*` metadata keys of an exported model, its input layouts and normalisations. */
export { type InputLayout, METADATA_KEYS, type Normalization } from './metadata.js';
/** Reading and writing ONNX protobuf bytes with the embedded `onnx.proto` subset. */
export { decodeModel, encodeModel } from './proto/codec.js';
/** Plain-object ONNX proto types (official snake_case field names). */
export type {
  AttributeProto,
  GraphProto,
  ModelProto,
  NodeProto,
  TensorProto,
  ValueInfoProto,
} from './proto/types.js';
/** Producer name and version written into exported models. */
export { PRODUCER_NAME, PRODUCER_VERSION } from './version.js';

/** The npm package name. */
export const packageName = '@lenet/onnx';
