/** Where a command writes: injectable so tests can run the CLI in-process. */
export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
  /** Whether progress bars may be drawn (a TTY and not CI). */
  interactive: boolean;
  /**
   * Whether ANSI colour may reach the terminal: not when `NO_COLOR` is set to anything but the
   * empty string (no-color.org). The CLI writes no colour of its own; this keeps onnxruntime's
   * coloured log lines off even with `--verbose`. Default true.
   */
  color?: boolean;
  /** `--verbose`: stack traces on failure, and onnxruntime's own warnings. Set by `runCli`. */
  verbose?: boolean;
}

/** Whether `env` allows ANSI colour (`NO_COLOR` unset or empty). */
export function colorAllowed(env: NodeJS.ProcessEnv = process.env): boolean {
  return !env.NO_COLOR;
}

/** The process's own stdout and stderr. */
export function processIo(): CliIo {
  return {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
    interactive: Boolean(process.stdout.isTTY) && !process.env.CI,
    color: colorAllowed(),
  };
}

/** Prints `value` as indented JSON followed by a newline. */
export function printJson(io: CliIo, value: unknown): void {
  io.out(`${JSON.stringify(value, null, 2)}\n`);
}
