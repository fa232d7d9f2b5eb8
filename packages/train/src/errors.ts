/**
 * Errors thrown by @lenet/train. Every message says what was wrong and, where there is one, which
 * file, option or layer it is about, e.g. `batchSize must be a positive integer, got 0`.
 */

import { ModelFileError } from '@lenet/models/tf';

/** Bad options or data given to `fit`, `evaluate` or `predict`, found before any training starts. */
export class TrainError extends Error {
  override readonly name: string = 'TrainError';
  /** The option or input the problem is in (`batchSize`, `optimizer`, `labels`, …). */
  readonly field: string;

  constructor(field: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.field = field;
  }
}

/** A training checkpoint directory that is incomplete, corrupt or saved for another model. */
export class CheckpointError extends ModelFileError {
  override readonly name: string = 'CheckpointError';
}
