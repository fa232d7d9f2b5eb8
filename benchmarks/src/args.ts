import { isAbsolute, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { BenchUsageError } from './errors.js';
import { EXTRA_MODELS, PROFILES, type Profile, VARIANTS } from './profiles.js';
import { ALL_BACKENDS, type BenchBackend } from './types.js';

/** The parts of a run `--tasks` can pick. */
export const TASKS = ['train', 'infer', 'accuracy', 'datasets', 'onnx-threads'] as const;
export type Task = (typeof TASKS)[number];

/** Largest batch size accepted (a bigger one is almost surely a typo and would exhaust memory). */
export const MAX_BATCH = 4096;

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
    };

/** Usage text printed by `--help`. */
export const USAGE = `Usage: pnpm bench [options]

  --profile quick|full     quick (default, < 10 min on 2 cores) or full (everything)
  --models a,b,...         model variants (default: the profile's). Known: ${[...VARIANTS, ...EXTRA_MODELS].join(', ')}
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
  --help                   this text

Exit codes: 0 done, 1 a run failed, 2 bad arguments or a bad compare or merge file (nothing written).`;

function list(flag: string, value: string): string[] {
  const items = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (items.length === 0) throw new BenchUsageError(`${flag}: empty list`);
  const dup = items.find((s, i) => items.indexOf(s) !== i);
  if (dup !== undefined) throw new BenchUsageError(`${flag}: '${dup}' is given twice`);
  return items;
}

function pick<T extends string>(flag: string, value: string, known: readonly T[], what: string): T[] {
  return list(flag, value).map((name) => {
    if (!(known as readonly string[]).includes(name)) {
      throw new BenchUsageError(`${flag}: unknown ${what} '${name}' (known: ${known.join(', ')})`);
    }
    return name as T;
  });
}

function batchSizes(value: string): number[] {
  return list('--batch-sizes', value).map((s) => {
    const n = Number(s);
    if (!/^\d+$/.test(s) || !Number.isSafeInteger(n) || n < 1 || n > MAX_BATCH) {
      throw new BenchUsageError(
        `--batch-sizes: '${s}' is not a batch size (an integer from 1 to ${MAX_BATCH})`,
      );
    }
    return n;
  });
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
  const profileName = values.profile ?? 'quick';
  if (profileName !== 'quick' && profileName !== 'full') {
    throw new BenchUsageError(`--profile: unknown profile '${profileName}' (known: quick, full)`);
  }
  const profile = PROFILES[profileName];
  const knownModels = [...VARIANTS, ...EXTRA_MODELS] as string[];
  const models =
    values.models !== undefined ? pick('--models', values.models, knownModels, 'model') : profile.models;
  const backends =
    values.backends !== undefined
      ? pick('--backends', values.backends, ALL_BACKENDS, 'backend')
      : profile.backends;
  const tasks = values.tasks !== undefined ? pick('--tasks', values.tasks, TASKS, 'task') : [...TASKS];
  for (const flag of ['out', 'json'] as const) {
    if (values[flag] === '') throw new BenchUsageError(`--${flag}: empty path`);
  }
  return {
    mode: 'run',
    profile,
    models,
    backends,
    batchSizes: values['batch-sizes'] !== undefined ? batchSizes(values['batch-sizes']) : undefined,
    tasks,
    outDir: values.out !== undefined ? abs(values.out) : undefined,
    jsonFile: values.json !== undefined ? abs(values.json) : undefined,
  };
}

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
      help: { type: 'boolean', short: 'h' },
    },
  });
}
