import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { formatDuration, isLenetError, plural } from '@lenet/common';
import type { ExecuteOptions, JobResult, StudyDefinition, StudyJob } from '@lenet/study';
import type { Command } from 'commander';
import { CLI_BACKENDS, type CliBackend } from '../backend-arg.js';
import { CliFailure, InterruptedError } from '../errors.js';
import { type CliIo, printJson } from '../io.js';
import { oneOf, positiveInt } from '../parse.js';
import { inLockedRunDir } from '../run-lock.js';

interface RunFlags {
  out?: string;
  workers?: number;
  seeds?: number;
  epochs?: number;
  trainLimit?: number;
  backend: CliBackend;
  data?: string;
  json?: boolean;
  queue?: string;
}

/** A built-in study by name, or a study file: a name with `.json` or a path, or one that exists. */
async function resolveStudy(target: string): Promise<StudyDefinition> {
  const lib = await import('@lenet/study');
  const path = target.endsWith('.json') || target.includes('/') || target.includes('\\');
  const builtin = lib.listStudies().some((s) => s.name === target);
  return path || (!builtin && existsSync(target)) ? await lib.loadStudy(target) : lib.getStudy(target);
}

/**
 * The command that ran, for the report: the arguments and the options given on the command line,
 * the queue URL without its password (`redact`).
 */
function commandLine(cmd: Command, redact: (url: string) => string): string {
  const parts = ['lenet', 'study', 'run', ...cmd.args];
  for (const option of cmd.options) {
    const key = option.attributeName();
    if (cmd.getOptionValueSource(key) !== 'cli' || option.long === undefined) continue;
    const value: unknown = cmd.getOptionValue(key);
    const shown = option.long === '--queue' ? redact(String(value)) : String(value);
    parts.push(option.long, ...(typeof value === 'boolean' ? [] : [shown]));
  }
  return parts.map((a) => (/[\s"'$\\]/.test(a) ? JSON.stringify(a) : a)).join(' ');
}

/** `lenet study list|show|run`: the reports' questions answered over several seeds. */
export function registerStudy(program: Command, io: CliIo): void {
  const study = program
    .command('study')
    .description(
      "answer the reports' comparative questions over several seeds (built-in studies or your own file)",
    );

  study
    .command('list')
    .description('list the built-in studies: the report and question each answers, its arms and seeds')
    .option('--json', 'print JSON')
    .action(async (flags: { json?: boolean }) => {
      const { listStudies } = await import('@lenet/study');
      const rows = listStudies().map((s) => ({
        name: s.name,
        report: s.answers?.report ?? '',
        question: s.answers?.question ?? s.description,
        arms: s.arms.map((a) => a.name),
        seeds: s.seeds.length,
        jobs: s.arms.length * s.seeds.length,
        dataset: s.dataset,
      }));
      if (flags.json) return printJson(io, rows);
      const w = Math.max(...rows.map((r) => r.name.length));
      io.out(`${'name'.padEnd(w)}  report  seeds  jobs  arms / question\n`);
      for (const r of rows) {
        io.out(
          `${r.name.padEnd(w)}  ${r.report.padEnd(6)}  ${String(r.seeds).padStart(5)}  ${String(r.jobs).padStart(4)}  ${r.arms.join(' vs ')}${r.dataset === 'folder' ? ' (needs --data <folder>)' : ''}\n`,
        );
        io.out(`${''.padEnd(w)}  ${''.padEnd(6)}  ${''.padStart(5)}  ${''.padStart(4)}  ${r.question}\n`);
      }
    });

  study
    .command('show')
    .description(
      'print a study as JSON (built-in or a file, checked): a starting point for your own study file',
    )
    .argument('<name|file.json>', 'a built-in study name or a study JSON file')
    .action(async (target: string) => {
      printJson(io, await resolveStudy(target));
    });

  study
    .command('run')
    .description(
      'train every arm x seed of a study and write its report; running again into the same --out resumes (finished jobs are not trained again). Exits 1 if any job failed (they are listed), 2 for a bad study or option, 130 on Ctrl-C',
    )
    .argument('<name|file.json>', 'a built-in study name (lenet study list) or a study JSON file')
    .option('--out <dir>', 'run directory (default runs/study-<name>)')
    .option(
      '--workers <n>',
      'job processes at once (default: one per core, measured fastest on 2 cores)',
      positiveInt('--workers', { max: availableParallelism(), why: "this machine's cores" }),
    )
    .option('--seeds <n>', "train seeds 0..n-1 instead of the study's", positiveInt('--seeds'))
    .option('--epochs <n>', "epochs per job instead of the study's budget", positiveInt('--epochs'))
    .option(
      '--train-limit <n>',
      'train on the first n images instead of the budget',
      positiveInt('--train-limit'),
    )
    .option('--backend <name>', 'backend of every job process', oneOf('--backend', CLI_BACKENDS), 'auto')
    .option('--data <dir>', 'data directory (required for an image folder, cifar10/100 and kmnist)')
    .option(
      '--queue <redis-url>',
      'run the jobs on a BullMQ queue (redis:// or rediss://, password allowed) that `lenet worker` processes take, on any number of machines, instead of this machine; this command collects the results and writes the same report',
    )
    .option('--json', 'print a JSON summary instead of progress')
    .action(async (target: string, flags: RunFlags, cmd: Command) => {
      const lib = await import('@lenet/study');
      const base = await resolveStudy(target);
      const overrides = {
        ...(flags.seeds === undefined ? {} : { seeds: Array.from({ length: flags.seeds }, (_, i) => i) }),
        ...(flags.epochs === undefined ? {} : { epochs: flags.epochs }),
        ...(flags.trainLimit === undefined ? {} : { trainLimit: flags.trainLimit }),
        ...(flags.data === undefined ? {} : { data: flags.data }),
      };
      const effective = lib.withOverrides(base, overrides);
      const jobs = await lib.planJobs(effective);
      const out = resolve(flags.out ?? `runs/study-${effective.name}`);
      await inLockedRunDir(
        out,
        'lenet study run',
        io,
        async (interrupt) => {
          const store = lib.openResultStore(out, { onProblem: (m) => io.err(`${m}\n`) });
          let reused = 0;
          for (const job of jobs) {
            const r = await store.get(job.id);
            if (r && lib.isFinalResult(r)) reused++;
          }
          const workers = flags.workers ?? lib.defaultLocalWorkers();
          if (!flags.json) {
            io.out(
              `study ${effective.name}: ${plural(jobs.length, 'job')} (${effective.arms.length} arms x ${plural(effective.seeds.length, 'seed')})${reused > 0 ? `, ${reused} done in an earlier run` : ''}; ${
                flags.queue
                  ? `on the queue ${lib.redactUrl(flags.queue)} (lenet worker processes train them)`
                  : `${plural(Math.min(workers, Math.max(1, jobs.length - reused)), 'job process', 'job processes')}, backend ${flags.backend}`
              }; ${out}\n`,
            );
          }
          // Loaded here: help and version load no progress-bar code.
          const { studyProgress } = await import('../study-progress.js');
          const progress = flags.json ? undefined : studyProgress(io, jobs.length, reused);
          const started = performance.now();
          let results: JobResult[];
          try {
            results = await execute(jobs, workers, {
              store,
              signal: interrupt.signal,
              onResult: (r, done, total) => progress?.update(r, done, total),
            });
          } catch (e) {
            if (interrupt.requested && isLenetError(e) && e.code === 'JOB_INTERRUPTED')
              throw new InterruptedError(`interrupted: ${e.message}`);
            throw e;
          } finally {
            progress?.stop();
          }
          const wallSeconds = Math.round((performance.now() - started) / 10) / 100;
          const { files, summary } = await lib.writeStudyReport(out, effective, results, {
            wallSeconds,
            command: commandLine(cmd, lib.redactUrl),
          });
          const failed = results.filter((r) => r.status === 'failed');
          if (flags.json) {
            printJson(io, {
              study: effective.name,
              out,
              jobs: jobs.length,
              trained: jobs.length - reused,
              reused,
              failed: failed.map((r) => ({ arm: r.arm, seed: r.seed, id: r.id, error: r.error })),
              wallSeconds,
              comparisons: summary.comparisons.map((c) => ({ a: c.a, b: c.b, verdict: c.verdict })),
              files,
            });
          } else {
            io.out(
              `${plural(jobs.length - reused, 'job')} trained${reused > 0 ? `, ${reused} reused` : ''} in ${formatDuration(wallSeconds)}\n`,
            );
            // The answer first: one line per comparison, then where the whole report is.
            for (const c of summary.comparisons)
              io.out(`${c.question ?? `${c.a} vs ${c.b}`}: ${c.verdict}\n`);
            io.out(`report: ${join(out, 'study.md')} (${plural(files.length, 'file')})\n`);
          }
          if (failed.length > 0) {
            for (const r of failed)
              io.err(
                `failed: ${r.arm} seed ${r.seed} (job ${r.id.slice(0, 12)}): ${r.error?.code}: ${r.error?.message}\n`,
              );
            throw new CliFailure(
              `${failed.length} of ${plural(jobs.length, 'job')} failed (listed above); the others are in the report`,
            );
          }
        },
        'taking no new job; the running ones finish and are kept',
      );

      /** Where the jobs run: the queue's workers on any machines, or this machine's pool of job processes. */
      async function execute(
        planned: StudyJob[],
        workers: number,
        options: ExecuteOptions,
      ): Promise<JobResult[]> {
        if (flags.queue)
          return lib.runJobsOnQueue(planned, {
            ...options,
            queue: flags.queue,
            log: (line) => io.err(`${line}\n`),
          });
        return lib.runJobsLocally(planned, { ...options, workers, backend: flags.backend });
      }
    });
}
