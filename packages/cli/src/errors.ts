import { isLenetError, LenetError } from '@lenet/common';

/** A bad command line: unknown flag or value, missing argument. Code `USAGE`, exit code 2. */
export class UsageError extends LenetError<'USAGE'> {
  override name = 'UsageError';

  constructor(message: string, options?: { cause?: unknown }) {
    super('USAGE', message, options);
  }
}

/**
 * A file or folder the user named is missing or cannot be used (not a model, no images…). Code
 * `CLI_BAD_INPUT`, exit code 2, as for any bad input file.
 */
export class BadInputError extends LenetError<'CLI_BAD_INPUT'> {
  override name = 'BadInputError';

  constructor(message: string, options?: { cause?: unknown }) {
    super('CLI_BAD_INPUT', message, options);
  }
}

/** The command was well formed but failed. Code `CLI_FAILED`, exit code 1. */
export class CliFailure extends LenetError<'CLI_FAILED'> {
  override name = 'CliFailure';

  constructor(message: string, options?: { cause?: unknown }) {
    super('CLI_FAILED', message, { cause: options?.cause, kind: 'failure' });
  }
}

/** The command stopped on Ctrl-C (after saving what resuming needs). Code `INTERRUPTED`, exit code 130. */
export class InterruptedError extends LenetError<'INTERRUPTED'> {
  override name = 'InterruptedError';

  constructor(message: string) {
    super('INTERRUPTED', message, { kind: 'failure' });
  }
}

/**
 * The one place that turns an error a command threw into the process exit code: 130 for an
 * interrupt, 2 for bad input (a `LenetError` of kind `'input'`: a bad flag or value, a missing or
 * corrupt file the user named, a run directory in use), 1 for a failure (kind `'failure'`, and
 * any error that is not a `LenetError`).
 */
export function exitCodeOf(error: unknown): 1 | 2 | 130 {
  if (!isLenetError(error)) return 1;
  if (error.code === 'INTERRUPTED') return 130;
  return error.kind === 'input' ? 2 : 1;
}
