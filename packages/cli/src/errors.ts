/** A bad command line: unknown flag or value, missing argument. Exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** The command was well formed but failed (bad data, missing model file, …). Exit code 1. */
export class CliFailure extends Error {
  override name = 'CliFailure';
}
