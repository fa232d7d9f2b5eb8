import { realpathSync } from 'node:fs';
import { isAbsolute, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { plural, writeFileAtomic } from '@lenet/common';
import { type ParsedArgs, parseBenchArgs, USAGE } from './args.js';
import { compareResults, renderComparison } from './compare.js';
import { REPO_ROOT } from './env.js';
import { BenchUsageError } from './errors.js';
import { mergeResults } from './merge/merge.js';
import { writeMergedReport } from './merge/render.js';
import { sourceNames } from './merge/sources.js';
import { renderSummary, writeRunDir } from './report.js';
import { readResults } from './results-file.js';
import { runBenchmark } from './run.js';
import type { BenchResult } from './types.js';

/** Where output goes (tests capture it): progress on `err`, the summary and the report's path on `out`. */
export interface MainIo {
  out: (text: string) => void;
  err: (text: string) => void;
  /** Directory relative paths are resolved against (default: where `pnpm bench` was started). */
  cwd?: string;
}

const defaultIo: MainIo = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
};

/** `runs/<prefix>-<timestamp>` under the repository root (`bench-merge` for a merged report). */
export function defaultRunDir(date = new Date(), prefix = 'bench'): string {
  return join(REPO_ROOT, 'runs', `${prefix}-${date.toISOString().replace(/[:.]/g, '-')}`);
}

/** `p` relative to `cwd` when it lies inside it, else as given: how output names a path. */
function shownPath(p: string, cwd: string): string {
  const rel = relative(cwd, p);
  return rel === '' || rel.startsWith('..') || isAbsolute(rel) ? p : rel;
}

/** `--merge`: reads and checks every file first, then writes the merged report. */
async function mergeFiles(
  files: string[],
  outDir: string | undefined,
  cwd: string,
  io: MainIo,
): Promise<number> {
  const sources = sourceNames(files, cwd);
  const results: BenchResult[] = [];
  // One file after the other, so that the first bad file is the one reported.
  for (const f of files) results.push(await readResults(f, shownPath(f, cwd)));
  const merged = mergeResults(results, sources);
  let file: string;
  try {
    file = await writeMergedReport(merged, outDir ?? defaultRunDir(new Date(), 'bench-merge'));
  } catch (err) {
    io.err(
      `pnpm bench: the merged report could not be written: ${err instanceof Error ? err.message : String(err)}\n`,
    );
    return 1;
  }
  io.out(
    `Merged ${plural(merged.runs.length, 'run')} from ${plural(merged.machines, 'machine')}:\n${merged.runs.map((r) => `- ${r.label} (${r.source})`).join('\n')}\nMerged report: ${shownPath(file, cwd)}\n`,
  );
  return 0;
}

/**
 * The `pnpm bench` command. Returns the exit code: 0 done, 1 a cell failed or the run crashed,
 * 2 bad arguments or compare or merge files (reported before anything is written).
 */
export async function main(argv: readonly string[], io: MainIo = defaultIo): Promise<number> {
  // pnpm runs the script inside benchmarks/; INIT_CWD is where the user typed `pnpm bench`.
  const cwd = io.cwd ?? process.env.INIT_CWD ?? process.cwd();
  let args: ParsedArgs;
  try {
    args = parseBenchArgs(argv, cwd);
    if (args.mode === 'help') {
      io.out(`${USAGE}\n`);
      return 0;
    }
    if (args.mode === 'merge') return await mergeFiles(args.files, args.outDir, cwd, io);
    if (args.mode === 'compare') {
      const [o, n] = await Promise.all([
        readResults(args.oldFile, shownPath(args.oldFile, cwd)),
        readResults(args.newFile, shownPath(args.newFile, cwd)),
      ]);
      const cmp = compareResults(o, n);
      io.out(renderComparison(cmp, o, n, { old: args.oldFile, new: args.newFile }));
      return 0;
    }
  } catch (err) {
    if (err instanceof BenchUsageError) {
      io.err(`pnpm bench: ${err.message}\n`);
      return err.exitCode;
    }
    throw err;
  }
  try {
    const result = await runBenchmark(
      {
        profile: args.profile,
        models: args.models,
        backends: args.backends,
        batchSizes: args.batchSizes,
        tasks: args.tasks,
      },
      (line) => io.err(`${line}\n`),
    );
    const dir = args.outDir ?? defaultRunDir();
    await writeRunDir(result, dir);
    if (args.jsonFile) await writeFileAtomic(args.jsonFile, `${JSON.stringify(result, null, 2)}\n`);
    if (args.jsonFile) io.err(`results JSON also written to ${args.jsonFile}\n`);
    // stdout ends with the summary and where the full report is, not the whole report.
    const shown = (p: string): string => shownPath(p, cwd);
    io.out(
      `\n${renderSummary(result)}\nFull report: ${shown(join(dir, 'results.md'))} (data: results.json, charts: charts/)\n`,
    );
    const failed =
      result.cells.filter((c) => c.status === 'failed').length +
      result.accuracy.filter((a) => a.status === 'failed').length;
    if (failed > 0) {
      io.err(`pnpm bench: ${failed} cell(s) failed (see the reasons above)\n`);
      return 1;
    }
    return 0;
  } catch (err) {
    io.err(
      `pnpm bench: the run failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    return 1;
  }
}

function isEntryPoint(): boolean {
  if (!process.argv[1]) return false;
  try {
    return realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(
        `pnpm bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
      );
      process.exitCode = 1;
    },
  );
}
