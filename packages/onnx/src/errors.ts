import { LenetError } from '@lenet/common';

/**
 * Base class of every error this package throws; `code` says which kind. All are bad input (kind
 * `'input'`) except `SESSION_FAILED`, onnxruntime failing on a model it accepted, and
 * `RUNTIME_MISSING`, the optional onnxruntime-node not installed (kind `'failure'`).
 */
export class OnnxError extends LenetError<OnnxErrorCode> {
  constructor(code: OnnxErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, { cause: options?.cause, kind: FAILURES.has(code) ? 'failure' : 'input' });
    this.name = 'OnnxError';
  }
}

/** Codes that are not the caller's input but the machine or the runtime. */
const FAILURES: ReadonlySet<OnnxErrorCode> = new Set(['SESSION_FAILED', 'RUNTIME_MISSING']);

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
