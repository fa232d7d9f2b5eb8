import { LenetError } from '@lenet/common';

/**
 * The error every loader throws for bad input: it names the file (or folder) and says what was
 * wrong with it, e.g. `data/train-images-idx3-ubyte: truncated: header claims 47040000 bytes of
 * pixels, file holds 1000`. Its code is always `DATASET_INVALID`, its kind `'input'`.
 */
export class DatasetError extends LenetError<'DATASET_INVALID'> {
  /** The file or folder the problem is in. */
  readonly file: string;
  /** The problem alone, without the file name. */
  readonly reason: string;

  constructor(file: string, reason: string, options?: { cause?: unknown }) {
    super('DATASET_INVALID', `${file}: ${reason}`, options);
    this.name = 'DatasetError';
    this.file = file;
    this.reason = reason;
  }
}
