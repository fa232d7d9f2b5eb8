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

/** Error thrown by @lenet/backend: unknown backend names, unavailable backends, bad kernel input. */
export class BackendError extends Error {
  override readonly name = 'BackendError';

  constructor(
    message: string,
    /** The backend the error is about, when there is one. */
    readonly backend?: string,
    /** Why that backend could not be used, when known. */
    readonly reason?: SkipReason,
  ) {
    super(message);
  }
}
