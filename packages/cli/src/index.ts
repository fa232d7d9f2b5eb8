/** @lenet/cli public API: the `lenet` command line, runnable in-process. */

/** Errors: a bad command line or input file (exit 2), a failed command (exit 1), an interrupt (exit 130). */
export { BadInputError, CliFailure, InterruptedError, UsageError } from './errors.js';
/** Where the CLI writes; `processIo()` is the real stdout/stderr. */
export { type CliIo, processIo } from './io.js';
/** Runs `lenet` on an argument list and returns its exit code. */
export { runCli } from './program.js';
/** A run directory held by another run (exit 2). */
export { RunDirLockedError } from './run-lock.js';
