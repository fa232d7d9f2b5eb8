import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { CliFailure } from '../errors.js';
import type { CliIo } from '../io.js';

/** The benchmark harness lives in the repository's private `benchmarks/` package, beside `packages/`. */
const HARNESS = fileURLToPath(new URL('../../../../benchmarks/package.json', import.meta.url));

/** `lenet bench [args…]`: runs `pnpm bench` of a lenet checkout, passing the arguments through. */
export function registerBench(program: Command, io: CliIo, setExitCode: (code: number) => void): void {
  program
    .command('bench')
    .description('run the benchmark harness (in a lenet repository checkout); see `lenet bench --help`')
    .allowUnknownOption(true)
    .helpOption(false)
    .argument(
      '[args...]',
      'arguments for the harness: --profile, --models, --backends, --batch-sizes, --json, --compare',
    )
    .action(async (args: string[]) => {
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
