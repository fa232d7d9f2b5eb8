import { ModelFileError, type ModelFileErrorCode } from '@lenet/models/tf';

/** A training checkpoint directory that is incomplete, corrupt or saved for another model (code `CHECKPOINT_INVALID`). */
export class CheckpointError extends ModelFileError {
  override readonly name: string = 'CheckpointError';
  override readonly code: ModelFileErrorCode = 'CHECKPOINT_INVALID';
}
