/**
 * Errors thrown by @lenet/train. Every message says what was wrong and, where there is one, which
 * file, option or layer it is about, e.g. `batchSize must be a positive integer, got 0`.
 */
import { type ErrorKind, LenetError } from '@lenet/common';

/** What a {@link TrainError} is about: bad options or data (`TRAIN_INVALID`), or training that failed. */
export type TrainErrorCode = 'TRAIN_INVALID' | 'TRAIN_FAILED';

/**
 * Bad options or data given to `fit`, `evaluate` or `predict`, found before any training starts
 * (code `TRAIN_INVALID`, kind `'input'`); with `kind: 'failure'`, training that failed on its own
 * (code `TRAIN_FAILED`), e.g. a crashed worker thread.
 */
export class TrainError extends LenetError<TrainErrorCode> {
  override readonly name: string = 'TrainError';
  /** The option or input the problem is in (`batchSize`, `optimizer`, `labels`, …). */
  readonly field: string;

  constructor(field: string, message: string, options?: { cause?: unknown; kind?: ErrorKind }) {
    const kind = options?.kind ?? 'input';
    super(kind === 'input' ? 'TRAIN_INVALID' : 'TRAIN_FAILED', message, { cause: options?.cause, kind });
    this.field = field;
  }
}
