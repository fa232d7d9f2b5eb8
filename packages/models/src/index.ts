/**
 * @lenet/models public API: specs, presets, shapes and summaries, without TensorFlow.js. The
 * builder and model save/load are in `@lenet/models/tf`.
 */

/** The error thrown for a malformed spec or one that does not fit its input; it names the layer. */
export { SpecError, type SpecErrorLocation } from './errors.js';
/** How deeply spec files and model.json may nest, and the check of JSON text before it is parsed. */
export { jsonTextDepth, MAX_JSON_DEPTH } from './json-depth.js';
/** Size limits of a network (parameters, activations, layers), checked from its shapes before building. */
export { checkSpecLimits, DEFAULT_SPEC_LIMITS, type SpecLimits } from './limits.js';
/** The same network ending in logits instead of softmax probabilities. */
export { logitsSpec } from './logits.js';
/** Deterministic layer names (`conv2d_1`, `dense_2`, …) as the builder uses them. */
export { kerasBaseNames, layerNames } from './names.js';
/** The preset registry and lookup (`getPreset('lenet5', { input: [32, 32, 3] })`). */
export {
  getPreset,
  type PresetInfo,
  type PresetName,
  type PresetOptions,
  type PresetResult,
  presetNames,
  presets,
} from './presets.js';
/** Shape and parameter inference over a spec, without TensorFlow. */
export {
  inferShapes,
  type LayerShape,
  type Shape,
  type ShapeInference,
} from './shapes.js';
/** The spec types: a JSON-serialisable description of a network. */
export {
  type ActivationLayer,
  type ActivationName,
  activationNames,
  type BatchNormLayer,
  type Conv2dLayer,
  type DenseLayer,
  type DropoutLayer,
  type FlattenLayer,
  type GlobalAvgPoolLayer,
  type InitializerName,
  initializerNames,
  type LayerSpec,
  type LayerType,
  layerTypes,
  type ModelSpec,
  type Padding,
  type PoolLayer,
  type Size2,
} from './spec.js';
/** Keras- and torchsummary-style summaries computed from the spec. */
export {
  type KerasRow,
  type ModelSummary,
  renderKeras,
  renderTorch,
  summary,
  type TorchRow,
} from './summary.js';
/** Parsing, validation, loading and saving of specs as JSON. */
export {
  type LoadSpecOptions,
  loadSpec,
  parseSpec,
  SPEC_MAX_BYTES,
  saveSpec,
  specToJson,
  validateSpec,
} from './validate.js';

/** The npm package name. */
export const packageName = '@lenet/models';
