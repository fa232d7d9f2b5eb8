/**
 * The error every loader throws for bad input: it names the file (or folder) and says what was
 * wrong with it, e.g. `data/train-images-idx3-ubyte: truncated: header claims 47040000 bytes of
 * pixels, file holds 1000`.
 */
export class DatasetError extends Error {
  /** The file or folder the problem is in. */
  readonly file: string;
  /** The problem alone, without the file name. */
  readonly reason: string;

  constructor(file: string, reason: string, options?: { cause?: unknown }) {
    super(`${file}: ${reason}`, options);
    this.name = 'DatasetError';
    this.file = file;
    this.reason = reason;
  }
}
