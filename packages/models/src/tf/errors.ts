/** A model directory (`model.json` + weight files) that cannot be written or read. */
export class ModelFileError extends Error {
  override readonly name: string = 'ModelFileError';
  /** The file or directory the problem is in. */
  readonly file: string;

  constructor(file: string, reason: string, options?: { cause?: unknown }) {
    super(`${file}: ${reason}`, options);
    this.file = file;
  }
}
