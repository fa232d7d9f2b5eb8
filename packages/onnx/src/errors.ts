import { LenetError } from '@lenet/common';

/**
 * Base class of every error this package throws; `code` says which kind. All are bad input (kind
 * `'input'`) except `SESSION_FAILED`, onnxruntime failing on a model it accepted (kind `'failure'`).
 */
export class OnnxError extends LenetError<OnnxErrorCode> {
  constructor(code: OnnxErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, { cause: options?.cause, kind: code === 'SESSION_FAILED' ? 'failure' : 'input' });
    this.name = 'OnnxError';
  }
}

/** What went wrong, for callers that branch on it. */
export type OnnxErrorCode =
  | 'UNSUPPORTED_LAYER'
  | 'UNSUPPORTED_MODEL'
  | 'INVALID_OPTION'
  | 'FILE_NOT_FOUND'
  | 'INVALID_MODEL_FILE'
  | 'NOT_AN_IMAGE_MODEL'
  | 'INVALID_INPUT'
  | 'SESSION_FAILED'
  | 'RUNTIME_MISSING';
