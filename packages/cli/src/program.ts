import { Command, CommanderError } from 'commander';
import { registerBench } from './commands/bench.js';
import { registerDatasets } from './commands/datasets.js';
import { registerExport } from './commands/export.js';
import { registerInference } from './commands/infer.js';
import { registerModels } from './commands/models.js';
import { registerReproduce } from './commands/reproduce.js';
import { registerStudy } from './commands/study.js';
import { registerTrain } from './commands/train.js';
import { registerWorker } from './commands/worker.js';
import { exitCodeOf } from './errors.js';
import type { CliIo } from './io.js';

const VERSION = '0.1.0';

function buildProgram(io: CliIo, setExitCode: (code: number) => void): Command {
  const program = new Command('lenet')
    .description('Train, evaluate, export and benchmark LeNet-family networks on real data.')
    .version(VERSION)
    .option('--verbose', 'print stack traces on failure')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err, outputError: () => {} });
  registerTrain(program, io);
  registerInference(program, io);
  registerExport(program, io);
  registerModels(program, io);
  registerDatasets(program, io);
  registerReproduce(program, io);
  registerStudy(program, io);
  registerBench(program, io, setExitCode);
  registerWorker(program, io);
  for (const cmd of program.commands) applyToTree(cmd, io);
  return program;
}

function applyToTree(cmd: Command, io: CliIo): void {
  // `lenet <command> --version` answers too, as instantly as `lenet --version`.
  cmd
    .version(VERSION)
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err, outputError: () => {} });
  for (const sub of cmd.commands) applyToTree(sub, io);
}

/**
 * Runs the `lenet` command line on `argv` (without the node and script entries) and returns the
 * exit code: 0 success, 2 bad arguments or input files (and a bare `lenet`, which prints the usage),
 * 1 failure, 130 interrupted (see `exitCodeOf`). Errors are one line on `io.err`. Help and version
 * load no command's libraries: every command imports what it runs when it runs.
 */
export async function runCli(argv: string[], cliIo: CliIo): Promise<number> {
  let exitCode = 0;
  const verbose = argv.includes('--verbose');
  const io: CliIo = { ...cliIo, verbose };
  const program = buildProgram(io, (code) => {
    exitCode = code;
  });
  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version') return 0;
      // `lenet help` asked for it (0); a bare `lenet` or `lenet datasets` is a command line
      // without a command: the usage went to stderr, and it is a usage error.
      if (e.code === 'commander.help') return e.exitCode === 0 ? 0 : 2;
      // Commander's own message already starts with "error:".
      io.err(`lenet: ${e.message.replace(/^error: /, '')}\n`);
      return 2;
    }
    const message = e instanceof Error ? e.message : String(e);
    io.err(`lenet: ${message.split('\n')[0]}\n`);
    if (verbose && e instanceof Error && e.stack) io.err(`${e.stack}\n`);
    return exitCodeOf(e);
  }
}
