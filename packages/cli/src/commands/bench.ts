import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Command } from 'commander';
import { CliFailure } from '../errors.js';
import type { CliIo } from '../io.js';

/** The benchmark harness lives in the repository's private `benchmarks/` package, beside `packages/`. */
const HARNESS = fileURLToPath(new URL('../../../../benchmarks/package.json', import.meta.url));
/** The harness's built argument parser: its `USAGE` is the one description of its flags. */
const HARNESS_ARGS = fileURLToPath(new URL('../../../../benchmarks/dist/args.js', import.meta.url));

/**
 * `lenet bench --help`: this command's usage and the harness's own flags, read from its built
 * argument parser without building or starting it (that parser loads no TensorFlow.js).
 */
async function benchHelp(cmd: Command): Promise<string> {
  let usage = 'Run `pnpm bench --help` in a lenet repository checkout for the harness flags.';
  if (existsSync(HARNESS_ARGS)) {
    try {
      const args = (await import(pathToFileURL(HARNESS_ARGS).href)) as { USAGE?: unknown };
      if (typeof args.USAGE === 'string') usage = args.USAGE;
    } catch {
      // A half-built checkout: the pointer above is still true.
    }
  } else if (!existsSync(HARNESS)) {
    usage = 'The benchmark harness ships with the lenet repository, not with @lenet/cli.';
  }
  return `${cmd.helpInformation()}\nThe arguments go to the harness (\`pnpm bench\`, built first):\n\n${usage}\n`;
}

/** `lenet bench [args…]`: runs `pnpm bench` of a lenet checkout, passing the arguments through. */
export function registerBench(program: Command, io: CliIo, setExitCode: (code: number) => void): void {
  const bench = program
    .command('bench')
    .description('run the benchmark harness (in a lenet repository checkout); see `lenet bench --help`')
    .allowUnknownOption(true)
    .helpOption(false)
    .argument(
      '[args...]',
      'arguments for the harness: --profile, --models, --backends, --batch-sizes, --tasks, --out, --json, --compare',
    );
  bench.action(async (args: string[]) => {
    // Help is answered here: passed through, it would wait for the harness's build.
    if (args.includes('--help') || args.includes('-h')) {
      io.out(await benchHelp(bench));
      return;
    }
    if (!existsSync(HARNESS)) {
      throw new CliFailure(
        'the benchmark harness ships with the lenet repository, not with @lenet/cli: clone it and run `pnpm bench`',
      );
    }
    const code = await new Promise<number>((resolve) => {
      const child = spawn(
        'pnpm',
        ['-C', fileURLToPath(new URL('.', `file://${HARNESS}`)), 'run', 'bench', ...args],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      child.stdout.on('data', (d: Buffer) => io.out(d.toString()));
      child.stderr.on('data', (d: Buffer) => io.err(d.toString()));
      child.on('close', (c) => resolve(c ?? 1));
      child.on('error', () => resolve(1));
    });
    setExitCode(code);
  });
}
