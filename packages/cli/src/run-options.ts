import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '@lenet/common';
import { type Recipe, validateRecipe } from '@lenet/train/recipes';
import { BadInputError, UsageError } from './errors.js';
import type { TrainingRun } from './training-run.js';

/** The file in a run directory that records how the run was started, for `--resume`. */
export const RUN_OPTIONS_FILE = 'run.json';

/**
 * What `run.json` holds: the parts of a {@link TrainingRun} that decide what it computes and how
 * it ran (paths absolute: `data` is absent for the bundled data).
 */
export type SavedRunOptions = { format: 'lenet-run-options'; version: 1 } & Pick<
  TrainingRun,
  'recipe' | 'data' | 'limit' | 'backend' | 'workers' | 'onnx' | 'reportFlags'
> &
  Required<Pick<TrainingRun, 'exportAnyway'>>;

/** Paths in the recipe and options made absolute, so that a resume from elsewhere reads the same files. */
export function absolutePaths(recipe: Recipe, data: string | undefined): { recipe: Recipe; data?: string } {
  const model = existsSync(recipe.model) ? resolve(recipe.model) : recipe.model;
  return { recipe: { ...recipe, model }, ...(data === undefined ? {} : { data: resolve(data) }) };
}

/** Writes `run.json` into the run directory `out`. */
export async function writeRunOptions(
  out: string,
  options: Omit<SavedRunOptions, 'format' | 'version'>,
): Promise<void> {
  const saved: SavedRunOptions = { format: 'lenet-run-options', version: 1, ...options };
  await writeFileAtomic(join(out, RUN_OPTIONS_FILE), `${JSON.stringify(saved, null, 2)}\n`);
}

/** Reads and checks `run.json` of run directory `dir` (a bad or missing one is bad input: exit 2). */
export async function readRunOptions(dir: string): Promise<SavedRunOptions> {
  const file = join(dir, RUN_OPTIONS_FILE);
  let value: Partial<SavedRunOptions>;
  try {
    value = JSON.parse(await readFile(file, 'utf8')) as Partial<SavedRunOptions>;
  } catch (e) {
    const why =
      (e as NodeJS.ErrnoException).code === 'ENOENT'
        ? `missing: ${dir} is not a run directory of lenet train (or was started before --resume existed)`
        : `unreadable: ${(e as Error).message}`;
    throw new BadInputError(`${file}: ${why}`);
  }
  if (value?.format !== 'lenet-run-options' || value.version !== 1) {
    throw new BadInputError(
      `${file}: not the options of a lenet run (format ${JSON.stringify(value?.format)})`,
    );
  }
  try {
    validateRecipe(value.recipe);
  } catch (e) {
    throw new BadInputError(`${file}: ${(e as Error).message}`, { cause: e });
  }
  return value as SavedRunOptions;
}

/** A `lenet train` flag given again with `--resume`, and the saved value it must equal. */
export interface ResumeCheck {
  flag: string;
  given: unknown;
  saved: unknown;
}

/**
 * Refuses flags given again with `--resume` whose value differs from the run's saved options:
 * a resumed run computes what the interrupted one would have.
 */
export function checkResumeFlags(dir: string, checks: readonly ResumeCheck[]): void {
  const differ = checks.filter((c) => JSON.stringify(c.given) !== JSON.stringify(c.saved));
  if (differ.length === 0) return;
  const list = differ
    .map((c) => `${c.flag} ${JSON.stringify(c.given)} (the run has ${JSON.stringify(c.saved)})`)
    .join(', ');
  throw new UsageError(
    `--resume ${dir} continues the run with its own options (${RUN_OPTIONS_FILE}); these differ: ${list}. Leave them out, or start a new run with another --out`,
  );
}
