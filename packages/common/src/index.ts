// What every @lenet package shares. No dependencies, no TensorFlow.

/** Arg-max of each row of a row-major score matrix. */
export { argmax } from './argmax.js';
/** Atomic writes of files and folders, and the leftovers of interrupted ones. */
export {
  type AtomicFileData,
  abandonedOldVersions,
  removeStaleTemps,
  staleTempEntries,
  writeDirAtomic,
  writeFileAtomic,
  writeFileAtomicSync,
} from './atomic.js';
/** An inference-mode batch norm folded into the convolution or dense layer before it. */
export { type BatchNormTerms, type FoldedWeights, foldBatchNorm } from './batch-norm-fold.js';
/** The classifier interface every model kind implements. */
export type {
  ChannelNormalization,
  Classifier,
  ImageBatchInput,
  ImageLayout,
  PixelNormalization,
} from './classifier.js';
/** The error base with a stable code. */
export { type ErrorKind, isLenetError, LenetError, type LenetErrorOptions } from './errors.js';
/** Reading data files: regular files only, within a size limit checked before reading. */
export {
  type FileErrorFactory,
  fileErrorReason,
  type OpenRegularFile,
  openRegularFile,
  type RegularFileOptions,
  readFully,
  readRegularFile,
  readRegularFileSync,
} from './files.js';
/** Where the first NaN or ±Infinity is in a list of numbers. */
export { nonFiniteIndex } from './finite.js';
/** Rewrites absolute machine paths in report text (package-relative, root-relative or the last segment). */
export { hasMachinePath, withoutMachinePaths } from './machine-paths.js';
/** A GitHub markdown table with escaped cells. */
export { markdownTable } from './markdown.js';
/** Why a pixel normalisation cannot be used (non-finite values, std 0, wrong lengths). */
export { normalizationProblem } from './normalization.js';
/** Option checks with the valid range in the message, and their error. */
export {
  checkBoolean,
  checkInteger,
  checkNumber,
  checkOneOf,
  describeValue,
  type IntegerRange,
  type NumberRange,
  OptionError,
} from './options.js';
/** A count with its noun in the right number (`1 epoch`, `3 epochs`), and a wall time as people read it. */
export { formatDuration, plural } from './plural.js';
/** Whether a process id is alive on this machine (stale locks and temp files). */
export { isProcessAlive } from './process.js';

/** This package's name. */
export const packageName = '@lenet/common';
