/** Where a command writes: injectable so tests can run the CLI in-process. */
export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
  /** Whether progress bars may be drawn (a TTY and not CI). */
  interactive: boolean;
}

/** The process's own stdout and stderr. */
export function processIo(): CliIo {
  return {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
    interactive: Boolean(process.stdout.isTTY) && !process.env.CI,
  };
}

/** Prints `value` as indented JSON followed by a newline. */
export function printJson(io: CliIo, value: unknown): void {
  io.out(`${JSON.stringify(value, null, 2)}\n`);
}
