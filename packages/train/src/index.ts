/** @lenet/train public API. */

/** Batch-norm statistics re-estimated with dropout off (fixes dropout-before-BN variance shift). */
export { hasDropoutBeforeBatchNorm, type RecalibrateOptions, recalibrateBatchNorm } from './batch-norm.js';
/** Callback hooks, the training context they receive, and per-batch logs. */
export type {
  BatchLogs,
  Callback,
  HookResult,
  HookReturn,
  NonFiniteLoss,
  RunningMetrics,
  StopSignal,
  TrainContext,
} from './callback.js';
/** Dropout only for the first epochs ("early dropout"). */
export { type EarlyDropoutOptions, earlyDropout } from './callbacks/early-dropout.js';
/** Stop when a monitored metric stops improving, optionally restoring the best weights. */
export { type EarlyStopping, type EarlyStoppingOptions, earlyStopping } from './callbacks/early-stopping.js';
/** Write the history to JSON and CSV after every epoch. */
export {
  HISTORY_COLUMNS,
  type HistoryWriterOptions,
  historyToCsv,
  historyWriter,
} from './callbacks/history-writer.js';
/** Record (and print) the learning rate per epoch or step. */
export {
  type LearningRateLogger,
  type LearningRateLoggerOptions,
  type LearningRateRecord,
  learningRateLogger,
} from './callbacks/lr-logger.js';
/** Save resumable checkpoints (`last/`, `best/`) atomically. */
export {
  type ModelCheckpoint,
  type ModelCheckpointOptions,
  modelCheckpoint,
} from './callbacks/model-checkpoint.js';
/** Stop on a NaN/Inf loss, naming the epoch and batch. */
export { type NanGuard, type NanGuardOptions, nanGuard } from './callbacks/nan-guard.js';
/** Terminal progress bar, or plain lines when not a TTY or on CI. */
export {
  epochSummary,
  type ProgressBarOptions,
  type ProgressStream,
  progressBar,
} from './callbacks/progress-bar.js';
/** Checkpoint directory format: write, read, check and restore. */
export {
  CHECKPOINT_FILES,
  type CheckpointState,
  type EpochPosition,
  type LoadedCheckpoint,
  type OptimizerFile,
  type ReadCheckpointOptions,
  readCheckpoint,
  specHash,
} from './checkpoint.js';
/** Errors: bad options/data, bad checkpoints (a `ModelFileError` of `@lenet/models/tf`). */
export { CheckpointError } from './checkpoint-error.js';
/** How `predict`, `evaluate` and `modelClassifier` run a TensorFlow.js model: compiled or `model.predict`, and why. */
export type { InferencePath } from './compiled-inference.js';
export { TrainError, type TrainErrorCode } from './errors.js';
/** The one evaluation and prediction over any `Classifier` (or a TensorFlow.js model), returning typed arrays. */
export {
  type EvaluateOptions,
  type EvaluateResult,
  evaluate,
  type ImageBatch,
  type PredictResult,
  predict,
} from './evaluate.js';
/** The training loop. */
export { DEFAULT_AUGMENT, type FitOptions, type FitResult, fit, type ValidationSplit } from './fit.js';
/** Gradient clipping helpers. */
export { type ClipOptions, clipGradients, globalNorm } from './gradients.js';
/** Per-epoch logs and monitor helpers. */
export { type EpochLogs, MONITOR_NAMES, type MonitorMode, type MonitorName } from './logs.js';
/** Cross-entropy (with label smoothing) as used by the loop. */
export { type CrossEntropyOptions, crossEntropySum } from './loss.js';
/** A TensorFlow.js model behind the `Classifier` interface of `@lenet/common`. */
export { type ModelClassifier, type ModelClassifierOptions, modelClassifier } from './model-classifier.js';
/** Optimizers: adam, adamw, sgd (momentum, Nesterov), rmsprop. */
export {
  createOptimizer,
  OPTIMIZER_NAMES,
  type OptimizerConfig,
  type OptimizerName,
  type OptimizerSlot,
  type ResolvedOptimizerConfig,
  type TrainOptimizer,
} from './optimizers.js';
/** Data-parallel training (`fit`'s `workers` option): gradient worker threads now alive, for leak checks. */
export { activeGradientWorkers } from './parallel/trainer.js';
/** Image files (PNG, JPEG, …) decoded, resized, inverted when dark-on-light and classified. */
export { type PredictImagesOptions, type PredictImagesResult, predictImages } from './predict-images.js';
/** A recipe as `fit` options (callbacks, spec, workers… added by the caller). */
export { type RecipeExtras, type RecipeFitOptions, recipeToFitOptions } from './recipe-fit.js';
/**
 * Training recipes as plain JSON: the CLI's defaults, the reference reports' and the accuracy
 * table's (also importable without TensorFlow.js from `@lenet/train/recipes`).
 */
export {
  DEFAULT_RECIPE,
  getRecipe,
  isRecipeName,
  RECIPE_SCHEDULES,
  RECIPES,
  type Recipe,
  type RecipeName,
  type RecipeSchedule,
  validateRecipe,
} from './recipes.js';
/** Running loss, accuracy and non-finite-step sums of training steps, kept on the device. */
export type { SumsRead, TrainSums } from './running-sums.js';
/** Learning-rate schedules. */
export {
  createSchedule,
  type LearningRateSchedule,
  type ScheduleConfig,
  type ScheduleName,
  type ScheduleRun,
  type ScheduleState,
} from './schedules.js';
/** `fit`'s training step on its own (forward, loss, gradients, non-finite check, clipping, update, dropout seeds). */
export { createTrainStep, type StepPath, type TrainStep, type TrainStepOptions } from './step.js';
