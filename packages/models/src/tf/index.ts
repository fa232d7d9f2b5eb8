/**
 * @lenet/models/tf: the TensorFlow.js side of the package (needs `@tensorflow/tfjs-core`,
 * `@tensorflow/tfjs-layers` and `@tensorflow/tfjs-backend-cpu`, optional peers of the package).
 */

/** Builds a seeded `tf.LayersModel` from a spec; `countParams()` equals the Keras-style total. */
export { type BuildOptions, buildModel, followingActivation } from './build.js';
/** A model directory that cannot be written or read; names the file. */
export { ModelFileError, type ModelFileErrorCode } from './errors.js';
/** TensorFlow.js layers-format save/load that works on every backend. */
/** The steps of save/load, for writers of other model directories (training checkpoints). */
export {
  loadModel,
  MODEL_JSON,
  MODEL_JSON_MAX_BYTES,
  MODEL_MAX_WEIGHT_BYTES,
  type ModelArtifactsOnDisk,
  type ModelMetadata,
  modelArtifacts,
  type ReadModelOptions,
  readModelFiles,
  readModelMetadata,
  type SavedModelInfo,
  type SaveModelOptions,
  saveModel,
  WEIGHTS_BIN,
  writeModelFiles,
} from './model-io.js';
