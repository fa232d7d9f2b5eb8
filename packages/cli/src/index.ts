/** @lenet/cli public API: the `lenet` command line, runnable in-process. */

/** Errors: a bad command line (exit 2) and a failed command (exit 1). */
export { CliFailure, UsageError } from './errors.js';
/** Where the CLI writes; `processIo()` is the real stdout/stderr. */
export { type CliIo, processIo } from './io.js';
/** Runs `lenet` on an argument list and returns its exit code. */
export { runCli } from './program.js';
