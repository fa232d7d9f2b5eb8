/** Base class of every error this package throws on bad input; `code` says which kind. */
export class OnnxError extends Error {
  readonly code: OnnxErrorCode;
  constructor(code: OnnxErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'OnnxError';
    this.code = code;
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
