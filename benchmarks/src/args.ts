import { isAbsolute, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { BenchUsageError } from './errors.js';
import { PROFILES, type Profile, VARIANTS } from './profiles.js';
import type { RunPlan } from './run/context.js';
import { ALL_BACKENDS, type BenchBackend } from './types.js';

/** The parts of a run `--tasks` can pick. */
export const TASKS = ['train', 'infer', 'accuracy', 'datasets', 'onnx-threads'] as const;
export type Task = (typeof TASKS)[number];

/** Largest batch size accepted (a bigger one is almost surely a typo and would exhaust memory). */
export const MAX_BATCH = 4096;

/** Longest `--run-id` (it goes into job ids and log lines). */
export const MAX_RUN_ID = 64;
/** Default `--wait-seconds`: how long a queued job may wait for a worker of its backend. */
export const DEFAULT_WAIT_SECONDS = 600;
/** Default `--lock-seconds` of a bench worker (a killed worker's job is retried after about this). */
export const DEFAULT_BENCH_LOCK_SECONDS = 30;

/** `--queue` and its companions: the run's cells as jobs on a BullMQ queue (Redis). */
export interface QueueArgs {
  /** `redis://[user:password@]host[:port][/db]` or `rediss://…`: never printed as given. */
  url: string;
  /** `--run-id`: re-running with the same id resumes (finished jobs are collected, not re-measured). */
  runId?: string;
  /** `--wait-seconds`: after this long without a worker, a job's backend is reported as such. */
  waitSeconds: number;
}

/** What the command line asked for. */
export type ParsedArgs =
  | { mode: 'help' }
  | { mode: 'compare'; oldFile: string; newFile: string }
  /** Result files (absolute) to merge into one report, and the directory it goes to (absolute). */
  | { mode: 'merge'; files: string[]; outDir?: string }
  | {
      mode: 'run';
      profile: Profile;
      models: string[];
      backends: BenchBackend[];
      /** Given by `--batch-sizes`: replaces both the training and the inference batch sizes. */
      batchSizes?: number[];
      tasks: Task[];
      /** Run directory (absolute). */
      outDir?: string;
      /** Extra copy of the results JSON (absolute). */
      jsonFile?: string;
      /** Set by `--queue`: the cells run as jobs on workers (`pnpm bench worker`), not here. */
      queue?: QueueArgs;
    }
  /** `pnpm bench worker`: takes cells jobs from the queue for the backends it has (or is given). */
  | { mode: 'worker'; queue: string; backends?: BenchBackend[]; name?: string; lockSeconds: number };

/** Usage text printed by `--help`. */
export const USAGE = `Usage: pnpm bench [options]

  --profile quick|full     quick (default, < 10 min on 2 cores) or full (everything)
  --models a,b,...         model variants (default: the profile's). Known: ${VARIANTS.join(', ')}
  --backends a,b,...       columns (default: all). Known: ${ALL_BACKENDS.join(', ')}
  --batch-sizes 1,64,...   batch sizes for training and inference (default: train 64,256; infer 1,64,256)
  --tasks a,b,...          parts to run (default: all): train, infer, accuracy, datasets (MNIST
                           loading/batching/decoding), onnx-threads (onnxruntime 1 vs 2 threads)
  --out DIR                run directory (default: runs/bench-<timestamp> at the repository root)
  --json FILE              also write the results JSON to FILE
  --compare OLD.json NEW.json    print a regression report of two results files and exit
  --merge A.json B.json ...      merge results of separate runs (other machines too) into one
                           report: one section per machine, absolute figures side by side
                           (only --out goes with it; default runs/bench-merge-<timestamp>)
  --queue redis://HOST[:PORT]    run the cells as jobs (one per backend) on the workers of a
                           BullMQ queue on Redis (rediss:// for TLS, user:password@ supported),
                           then write one results file per machine and the merged report to --out
                           (default runs/bench-queue-<timestamp>)
  --run-id ID              with --queue: the same ID again collects the finished jobs instead of
                           measuring them again (default: a new id, printed)
  --wait-seconds N         with --queue: a job no worker has started after N s is reported as
                           "no worker for backend X" (default ${DEFAULT_WAIT_SECONDS})
  --help                   this text

  pnpm bench worker --queue redis://HOST[:PORT] [--backends a,b] [--name NAME] [--lock-seconds N]
                           take jobs for the backends this machine has (or the given ones), one
                           at a time, until SIGINT/SIGTERM

Exit codes: 0 done, 1 a run or a queued job failed, 2 bad arguments, a bad compare or merge file
or queue URL (nothing written), 130 --queue stopped waiting (its jobs stay queued).`;

/** A comma-separated flag value as a list (empty items dropped). */
function split(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

function checkList(flag: string, items: readonly string[]): readonly string[] {
  if (items.length === 0) throw new BenchUsageError(`${flag}: empty list`);
  const dup = items.find((s, i) => items.indexOf(s) !== i);
  if (dup !== undefined) throw new BenchUsageError(`${flag}: '${dup}' is given twice`);
  return items;
}

function pick<T extends string>(
  flag: string,
  items: readonly string[],
  known: readonly T[],
  what: string,
): T[] {
  return checkList(flag, items).map((name) => {
    if (!(known as readonly string[]).includes(name)) {
      throw new BenchUsageError(`${flag}: unknown ${what} '${name}' (known: ${known.join(', ')})`);
    }
    return name as T;
  });
}

function batchSizes(flag: string, items: readonly string[]): number[] {
  return checkList(flag, items).map((s) => {
    const n = Number(s);
    if (!/^\d+$/.test(s) || !Number.isSafeInteger(n) || n < 1 || n > MAX_BATCH) {
      throw new BenchUsageError(`${flag}: '${s}' is not a batch size (an integer from 1 to ${MAX_BATCH})`);
    }
    return n;
  });
}

/** The plan's fields as lists of names, before validation (from flags, or from a queued job). */
export interface PlanLists {
  profile?: string;
  models?: readonly string[];
  backends?: readonly string[];
  /** Decimal integers, as typed. */
  batchSizes?: readonly string[];
  tasks?: readonly string[];
}

/** How messages name each plan field: `--models` on the command line, `plan.models` in a job. */
export type PlanFieldName = (field: 'profile' | 'models' | 'backends' | 'batch-sizes' | 'tasks') => string;

/**
 * Validates a plan given as lists (the one check of the command line's flags and of a queued
 * job's plan): known profile, models, backends and tasks, no duplicates, batch sizes in range.
 * A field left out takes the profile's default.
 * @throws BenchUsageError naming the field (`name(field)`) and the offending value.
 */
export function planFromLists(lists: PlanLists, name: PlanFieldName = (f) => `--${f}`): RunPlan {
  const profileName = lists.profile ?? 'quick';
  if (profileName !== 'quick' && profileName !== 'full') {
    throw new BenchUsageError(`${name('profile')}: unknown profile '${profileName}' (known: quick, full)`);
  }
  const profile = PROFILES[profileName];
  const knownModels: readonly string[] = VARIANTS;
  return {
    profile,
    models:
      lists.models !== undefined ? pick(name('models'), lists.models, knownModels, 'model') : profile.models,
    backends:
      lists.backends !== undefined
        ? pick(name('backends'), lists.backends, ALL_BACKENDS, 'backend')
        : profile.backends,
    batchSizes:
      lists.batchSizes !== undefined ? batchSizes(name('batch-sizes'), lists.batchSizes) : undefined,
    tasks: lists.tasks !== undefined ? pick(name('tasks'), lists.tasks, TASKS, 'task') : [...TASKS],
  };
}

/**
 * Parses and validates the command line. Relative paths are resolved against `cwd` (pnpm runs the
 * script in benchmarks/, so the caller passes the directory `pnpm bench` was started from).
 * @throws BenchUsageError for anything unknown, missing or out of range.
 */
export function parseBenchArgs(argv: readonly string[], cwd: string): ParsedArgs {
  const args = argv[0] === '--' ? argv.slice(1) : [...argv];
  let parsed: ReturnType<typeof parseArgsStrict>;
  try {
    parsed = parseArgsStrict(args);
  } catch (err) {
    throw new BenchUsageError(err instanceof Error ? err.message : String(err));
  }
  const { values, positionals } = parsed;
  const abs = (p: string): string => (isAbsolute(p) ? p : resolve(cwd, p));
  if (values.help) return { mode: 'help' };
  if (positionals[0] === 'worker') return workerArgs(values, positionals);
  for (const flag of ['name', 'lock-seconds'] as const) {
    if (values[flag] !== undefined)
      throw new BenchUsageError(`--${flag} goes with \`pnpm bench worker\` only`);
  }
  if (values.compare !== undefined) {
    const others = Object.keys(values).filter(
      (k) => k !== 'compare' && values[k as keyof typeof values] !== undefined,
    );
    if (others.length > 0) {
      throw new BenchUsageError(
        `--compare takes two files and no other option (got --${others.join(', --')})`,
      );
    }
    if (positionals.length !== 1) {
      throw new BenchUsageError(
        `--compare needs exactly two files: --compare OLD.json NEW.json (got ${1 + positionals.length})`,
      );
    }
    return { mode: 'compare', oldFile: abs(values.compare), newFile: abs(positionals[0]) };
  }
  if (values.merge) {
    const others = Object.keys(values).filter(
      (k) => k !== 'merge' && k !== 'out' && values[k as keyof typeof values] !== undefined,
    );
    if (others.length > 0) {
      throw new BenchUsageError(
        `--merge does not mix with --${others.join(', --')}: a merge runs nothing, it reads result files (only --out goes with it)`,
      );
    }
    if (positionals.length < 2) {
      throw new BenchUsageError(
        `--merge needs at least two result files: --merge A.json B.json ... (got ${positionals.length})`,
      );
    }
    const files = positionals.map(abs);
    const dup = files.findIndex((f, i) => files.indexOf(f) !== i);
    if (dup >= 0) throw new BenchUsageError(`--merge: '${positionals[dup]}' is given twice`);
    if (values.out === '') throw new BenchUsageError('--out: empty path');
    return { mode: 'merge', files, outDir: values.out !== undefined ? abs(values.out) : undefined };
  }
  if (positionals.length > 0) {
    throw new BenchUsageError(`unexpected argument '${positionals[0]}' (see --help)`);
  }
  const plan = planFromLists({
    profile: values.profile,
    models: values.models !== undefined ? split(values.models) : undefined,
    backends: values.backends !== undefined ? split(values.backends) : undefined,
    batchSizes: values['batch-sizes'] !== undefined ? split(values['batch-sizes']) : undefined,
    tasks: values.tasks !== undefined ? split(values.tasks) : undefined,
  });
  for (const flag of ['out', 'json'] as const) {
    if (values[flag] === '') throw new BenchUsageError(`--${flag}: empty path`);
  }
  return {
    mode: 'run',
    ...plan,
    outDir: values.out !== undefined ? abs(values.out) : undefined,
    jsonFile: values.json !== undefined ? abs(values.json) : undefined,
    ...queueArgs(values),
  };
}

/** A whole number of seconds from 1 to `max`. */
function seconds(flag: string, value: string, max: number): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1 || n > max) {
    throw new BenchUsageError(`${flag}: '${value}' is not a number of seconds (an integer from 1 to ${max})`);
  }
  return n;
}

const WEEK_SECONDS = 7 * 24 * 3600;

/** `--queue`, `--run-id`, `--wait-seconds` of a run (the last two only with the first). */
function queueArgs(values: Values): { queue?: QueueArgs } {
  if (values.queue === undefined) {
    for (const flag of ['run-id', 'wait-seconds'] as const) {
      if (values[flag] !== undefined) throw new BenchUsageError(`--${flag} goes with --queue only`);
    }
    return {};
  }
  if (values.queue === '') throw new BenchUsageError('--queue: empty URL');
  if (values.json !== undefined) {
    throw new BenchUsageError(
      '--json does not go with --queue: each machine gets its own results file in the run directory (--out)',
    );
  }
  const runId = values['run-id'];
  if (runId !== undefined && !new RegExp(`^[A-Za-z0-9._-]{1,${MAX_RUN_ID}}$`).test(runId)) {
    throw new BenchUsageError(
      `--run-id: '${runId}' is not a run id (1 to ${MAX_RUN_ID} letters, digits, '.', '_' or '-')`,
    );
  }
  return {
    queue: {
      url: values.queue,
      ...(runId !== undefined ? { runId } : {}),
      waitSeconds:
        values['wait-seconds'] !== undefined
          ? seconds('--wait-seconds', values['wait-seconds'], WEEK_SECONDS)
          : DEFAULT_WAIT_SECONDS,
    },
  };
}

/** `pnpm bench worker --queue URL [--backends a,b] [--name NAME] [--lock-seconds N]`. */
function workerArgs(values: Values, positionals: readonly string[]): ParsedArgs {
  const allowed = new Set(['queue', 'backends', 'name', 'lock-seconds']);
  const others = Object.keys(values).filter(
    (k) => !allowed.has(k) && values[k as keyof Values] !== undefined,
  );
  if (others.length > 0) {
    throw new BenchUsageError(
      `worker takes --queue, --backends, --name and --lock-seconds only (got --${others.join(', --')}): the plan comes with each job`,
    );
  }
  if (positionals.length > 1)
    throw new BenchUsageError(`unexpected argument '${positionals[1]}' (see --help)`);
  if (values.queue === undefined || values.queue === '') {
    throw new BenchUsageError('worker needs --queue redis://host[:port] (the queue the coordinator fills)');
  }
  if (values.name !== undefined && !/^[A-Za-z0-9._@+-]{1,100}$/.test(values.name)) {
    throw new BenchUsageError(
      `--name: '${values.name}' is not a worker name (1 to 100 letters, digits, '.', '_', '@', '+' or '-')`,
    );
  }
  return {
    mode: 'worker',
    queue: values.queue,
    ...(values.backends !== undefined
      ? { backends: pick('--backends', split(values.backends), ALL_BACKENDS, 'backend') }
      : {}),
    ...(values.name !== undefined ? { name: values.name } : {}),
    lockSeconds:
      values['lock-seconds'] !== undefined
        ? seconds('--lock-seconds', values['lock-seconds'], 3600)
        : DEFAULT_BENCH_LOCK_SECONDS,
  };
}

type Values = ReturnType<typeof parseArgsStrict>['values'];

function parseArgsStrict(args: string[]) {
  return parseArgs({
    args,
    strict: true,
    allowPositionals: true,
    options: {
      profile: { type: 'string' },
      models: { type: 'string' },
      backends: { type: 'string' },
      'batch-sizes': { type: 'string' },
      tasks: { type: 'string' },
      out: { type: 'string' },
      json: { type: 'string' },
      compare: { type: 'string' },
      merge: { type: 'boolean' },
      queue: { type: 'string' },
      'run-id': { type: 'string' },
      'wait-seconds': { type: 'string' },
      name: { type: 'string' },
      'lock-seconds': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}
