import { LenetError } from '@lenet/common';

/**
 * Bad command-line input or a bad compare file (code `BENCH_USAGE`, kind `'input'`): the harness
 * prints the message and exits with code 2.
 */
export class BenchUsageError extends LenetError<'BENCH_USAGE'> {
  override readonly name = 'BenchUsageError';
  /** The process exit code this error maps to. */
  readonly exitCode = 2;

  constructor(message: string, options?: { cause?: unknown }) {
    super('BENCH_USAGE', message, options);
  }
}
