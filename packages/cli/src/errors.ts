import { isLenetError, LenetError } from '@lenet/common';

/** A bad command line: unknown flag or value, missing argument. Code `USAGE`, exit code 2. */
export class UsageError extends LenetError<'USAGE'> {
  override name = 'UsageError';

  constructor(message: string, options?: { cause?: unknown }) {
    super('USAGE', message, options);
  }
}

/** The command was well formed but failed (bad data, missing model file, …). Code `CLI_FAILED`, exit code 1. */
export class CliFailure extends LenetError<'CLI_FAILED'> {
  override name = 'CliFailure';

  constructor(message: string, options?: { cause?: unknown }) {
    super('CLI_FAILED', message, { cause: options?.cause, kind: 'failure' });
  }
}

/**
 * Codes of errors about a file the user named that is missing or corrupt. The libraries call them
 * bad input, but the CLI's contract (README) is exit 1 for "missing or corrupt file, data in the
 * wrong format" and 2 for a bad command line only.
 */
const FILE_CODES: ReadonlySet<string> = new Set([
  'DATASET_INVALID',
  'MODEL_FILE_INVALID',
  'CHECKPOINT_INVALID',
  'FILE_NOT_FOUND',
  'INVALID_MODEL_FILE',
  'NOT_AN_IMAGE_MODEL',
]);

/** A spec read from a file names that file; a preset that does not fit its input does not. */
function isSpecFileError(error: LenetError): boolean {
  return error.code === 'SPEC_INVALID' && typeof (error as { file?: unknown }).file === 'string';
}

/**
 * The one place that turns an error a command threw into the process exit code: 2 for bad input
 * (a `LenetError` of kind `'input'`: a bad flag, value, model name or option combination), 1 for a
 * failure (kind `'failure'`, a missing or corrupt file, and any error that is not a `LenetError`).
 */
export function exitCodeOf(error: unknown): 1 | 2 {
  if (!isLenetError(error) || error.kind === 'failure') return 1;
  return FILE_CODES.has(error.code) || isSpecFileError(error) ? 1 : 2;
}
