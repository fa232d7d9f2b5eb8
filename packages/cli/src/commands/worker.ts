import { availableParallelism } from 'node:os';
import type { Command } from 'commander';
import { CLI_BACKENDS, type CliBackend } from '../backend-arg.js';
import type { CliIo } from '../io.js';
import { oneOf, positiveInt } from '../parse.js';

interface WorkerFlags {
  queue: string;
  concurrency: number;
  backend: CliBackend;
  threads?: number;
  name?: string;
  lockSeconds: number;
}

/**
 * `lenet worker --queue redis://…`: takes study jobs from a BullMQ queue on Redis and trains them
 * until stopped. SIGINT or SIGTERM stops it: jobs in progress go back to the queue for another
 * worker, and it exits 0; a second signal exits at once (130), and the queue hands those jobs on
 * once their lock runs out.
 */
export function registerWorker(program: Command, io: CliIo): void {
  program
    .command('worker')
    .description('take study jobs from a queue (BullMQ on Redis) and train them until stopped')
    .requiredOption(
      '--queue <url>',
      'the queue: redis://[user:password@]host[:port][/db], or rediss:// for TLS',
    )
    .option(
      '--concurrency <n>',
      'jobs trained at once, each in its own process',
      positiveInt('--concurrency'),
      1,
    )
    .option(
      '--backend <name>',
      `backend of the jobs: ${CLI_BACKENDS.join(', ')}`,
      oneOf('--backend', CLI_BACKENDS),
      'auto',
    )
    .option(
      '--threads <n>',
      'wasm threads per job (default: the cores divided by --concurrency)',
      positiveInt('--threads', { max: availableParallelism() * 4, why: "four times this machine's cores" }),
    )
    .option('--name <name>', 'this worker in results and logs (default: <hostname>-<pid>)')
    .option(
      '--lock-seconds <s>',
      'a job whose worker stops answering for this long is handed to another worker',
      positiveInt('--lock-seconds'),
      // @lenet/study's DEFAULT_LOCK_SECONDS; not imported here, so that --help loads no queue client.
      30,
    )
    .action(async (flags: WorkerFlags) => {
      const { runQueueWorker } = await import('@lenet/study');
      const controller = new AbortController();
      const onSignal = (signal: NodeJS.Signals) => {
        if (controller.signal.aborted) process.exit(130);
        io.err(`${signal}: stopping (again to quit at once)\n`);
        controller.abort();
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      try {
        await runQueueWorker({
          queue: flags.queue,
          concurrency: flags.concurrency,
          backend: flags.backend,
          ...(flags.threads === undefined ? {} : { threads: flags.threads }),
          ...(flags.name === undefined ? {} : { name: flags.name }),
          lockSeconds: flags.lockSeconds,
          log: (line) => io.err(`${new Date().toISOString().slice(0, 19)}Z ${line}\n`),
          signal: controller.signal,
        });
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
}
