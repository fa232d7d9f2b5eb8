import { LenetError } from '@lenet/common';

/** What a {@link ModelFileError} is about: a model directory or a training checkpoint. */
export type ModelFileErrorCode = 'MODEL_FILE_INVALID' | 'CHECKPOINT_INVALID';

/** A model directory (`model.json` + weight files) that cannot be written or read (code `MODEL_FILE_INVALID`). */
export class ModelFileError extends LenetError<ModelFileErrorCode> {
  override readonly name: string = 'ModelFileError';
  /** The file or directory the problem is in. */
  readonly file: string;

  constructor(file: string, reason: string, options?: { cause?: unknown }) {
    super('MODEL_FILE_INVALID', `${file}: ${reason}`, options);
    this.file = file;
  }
}
