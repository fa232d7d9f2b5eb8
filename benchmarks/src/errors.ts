/** Bad command-line input or a bad compare file: the harness prints the message and exits with code 2. */
export class BenchUsageError extends Error {
  override readonly name = 'BenchUsageError';
  /** The process exit code this error maps to. */
  readonly exitCode = 2;
}
