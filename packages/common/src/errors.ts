/**
 * The base of every error a `@lenet/*` package throws on purpose. `code` is stable across releases
 * (callers branch on it; the CLI maps it to an exit code), `kind` says whose fault it is.
 */
export class LenetError<Code extends string = string> extends Error {
  /** A stable, machine-readable name of what went wrong, e.g. `DATASET_INVALID`. */
  readonly code: Code;
  /**
   * `'input'`: the caller's options or files are wrong (the CLI exits 2, a missing or corrupt
   * file included); `'failure'`: the input was acceptable but the work failed (exit 1).
   */
  readonly kind: ErrorKind;

  constructor(code: Code, message: string, options?: LenetErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'LenetError';
    this.code = code;
    this.kind = options?.kind ?? 'input';
  }
}

/** Whose fault a {@link LenetError} is: bad input (exit 2) or a failure of the work (exit 1). */
export type ErrorKind = 'input' | 'failure';

/** Options of {@link LenetError}. */
export interface LenetErrorOptions {
  cause?: unknown;
  /** Default `'input'`. */
  kind?: ErrorKind;
}

/** True for any error thrown by a `@lenet/*` package (works across duplicated package copies). */
export function isLenetError(error: unknown): error is LenetError {
  return (
    error instanceof LenetError ||
    (error instanceof Error &&
      typeof (error as Partial<LenetError>).code === 'string' &&
      ((error as Partial<LenetError>).kind === 'input' || (error as Partial<LenetError>).kind === 'failure'))
  );
}
