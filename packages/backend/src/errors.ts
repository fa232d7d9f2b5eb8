import { type ErrorKind, LenetError } from '@lenet/common';

/** Why a backend was not used (see docs/backends.md). */
export type SkipReason =
  | 'not installed'
  | 'native binary missing'
  | 'no CUDA device'
  | 'failed to initialise'
  | 'lower priority';

/** Every documented skip reason, in the order the probes check them. */
export const SKIP_REASONS: readonly SkipReason[] = [
  'not installed',
  'native binary missing',
  'no CUDA device',
  'failed to initialise',
  'lower priority',
];

/**
 * What a {@link BackendError} is about: `BACKEND_UNKNOWN` a backend or kernel name that does not
 * exist, `BACKEND_UNAVAILABLE` a backend that cannot be used here, `BACKEND_KERNEL` a kernel that
 * was called wrongly or failed.
 */
export type BackendErrorCode = 'BACKEND_UNKNOWN' | 'BACKEND_UNAVAILABLE' | 'BACKEND_KERNEL';

/** Options of {@link BackendError}. */
export interface BackendErrorOptions {
  /** Default: `BACKEND_UNAVAILABLE` when a skip reason is given, otherwise `BACKEND_KERNEL`. */
  code?: BackendErrorCode;
  /** Default: `'failure'` for `BACKEND_KERNEL`, otherwise `'input'` (the caller named it). */
  kind?: ErrorKind;
  cause?: unknown;
}

/** Error thrown by @lenet/backend: unknown backend names, unavailable backends, bad kernel input. */
export class BackendError extends LenetError<BackendErrorCode> {
  override readonly name = 'BackendError';

  constructor(
    message: string,
    /** The backend the error is about, when there is one. */
    readonly backend?: string,
    /** Why that backend could not be used, when known. */
    readonly reason?: SkipReason,
    options: BackendErrorOptions = {},
  ) {
    const code = options.code ?? (reason === undefined ? 'BACKEND_KERNEL' : 'BACKEND_UNAVAILABLE');
    super(code, message, {
      cause: options.cause,
      kind: options.kind ?? (code === 'BACKEND_KERNEL' ? 'failure' : 'input'),
    });
  }
}
