// Loads neither TensorFlow.js nor the data set loaders (type imports only), so that the CLI can
// read its defaults at start-up and `@lenet/train/recipes` is usable on its own.
import type { DatasetName, MeanStd } from '@lenet/datasets';
import { TrainError } from './errors.js';
import { checkPositiveInteger } from './model-info.js';
import { OPTIMIZER_NAMES, type OptimizerName } from './optimizer-names.js';

/** The optimizer names a recipe takes (the same list as the main entry's). */
export { OPTIMIZER_NAMES } from './optimizer-names.js';

/** Learning-rate schedules a recipe names (the CLI's `--schedule` values). */
export const RECIPE_SCHEDULES = ['constant', 'step', 'cosine', 'one-cycle', 'plateau'] as const;

/** A schedule a recipe names; `recipeToFitOptions` turns it into a `ScheduleConfig`. */
export type RecipeSchedule = (typeof RECIPE_SCHEDULES)[number];

/**
 * A complete, seeded training recipe: what to train on what, and how. Plain JSON, so it can be
 * stored, printed and checked with {@link validateRecipe}.
 */
export interface Recipe {
  /** What the recipe is for (shown in listings and reports). */
  description?: string;
  /** Preset name (or, for the CLI, a spec file). */
  model: string;
  /** Data set name, as `loadDataset` and the CLI's `--dataset` take it. */
  dataset: DatasetName;
  /** Epochs to train. */
  epochs: number;
  /** Samples per step. */
  batchSize: number;
  /** Optimizer name. */
  optimizer: OptimizerName;
  /** Base learning rate (the peak for one-cycle). */
  learningRate: number;
  /** Weight decay on kernels; unset keeps the optimizer's own default (0.01 for adamw, else 0). */
  weightDecay?: number;
  /** Learning-rate schedule. */
  schedule: RecipeSchedule;
  /** Linear warm-up epochs (ignored by one-cycle, which has its own rise). */
  warmupEpochs: number;
  /** Label smoothing ε in [0, 1). */
  labelSmoothing: number;
  /** `'unit'` (pixel / 255), `'standard'` (per-channel mean/std of the training set) or fixed statistics. */
  normalize: 'unit' | 'standard' | MeanStd;
  /** ±2 px random crops on training batches (`fit`'s `augment: true`). */
  augment: boolean;
  /** Fraction of the training set split off (stratified, seeded) for validation; 0 for none. */
  validationFraction: number;
  /** Seed of weights, shuffling, augmentation, dropout and the validation split. */
  seed: number;
  /** Dropout only during the first this many epochs (`earlyDropout`); unset: dropout throughout. */
  earlyDropoutEpochs?: number;
}

/** The CLI's `lenet train` defaults: LeNet-5 on MNIST, Adam one-cycle to 4e-3, label smoothing 0.1. */
export const DEFAULT_RECIPE = Object.freeze({
  description: "the defaults of 'lenet train'",
  model: 'lenet5',
  dataset: 'mnist',
  epochs: 3,
  batchSize: 64,
  optimizer: 'adam',
  learningRate: 4e-3,
  schedule: 'one-cycle',
  warmupEpochs: 0,
  labelSmoothing: 0.1,
  normalize: 'standard',
  augment: false,
  validationFraction: 0.1,
  seed: 0,
} satisfies Recipe);

function report(description: string, model: string, epochs: number, dataset: DatasetName = 'mnist'): Recipe {
  return { ...DEFAULT_RECIPE, description, model, dataset, epochs };
}

/** MNIST training-set pixel mean and standard deviation (0..1 units), as torchvision examples use. */
const MNIST_MEAN_STD: MeanStd = { mean: [0.1307], std: [0.3081] };

/**
 * What every row of the accuracy table in docs/train.md shares: the CLI's recipe with the MNIST
 * statistics fixed, no validation split (all 60,000 images train) and seed 1.
 */
const ACCURACY_ROW = {
  ...DEFAULT_RECIPE,
  normalize: MNIST_MEAN_STD,
  validationFraction: 0,
  seed: 1,
} satisfies Recipe;

/** The augmented rows: AdamW with weight decay 0.01 and ±2 px crops. */
const AUGMENTED_ROW = {
  ...ACCURACY_ROW,
  optimizer: 'adamw',
  weightDecay: 0.01,
  augment: true,
} satisfies Recipe;

/**
 * Named recipes: `default` (the CLI's), `report-NNN-<preset>` (the runs of `lenet reproduce NNN`,
 * one per network of reference report NNN) and `accuracy-<row>` (the rows of the accuracy table
 * in docs/train.md, run by scripts/accuracy/run.mjs).
 */
export const RECIPES = Object.freeze({
  default: DEFAULT_RECIPE,
  'report-000-torch-bn': report(
    'report 000: PyTorch 3 conv + 3 FC with BatchNorm and Dropout on MNIST',
    'torch-bn',
    3,
  ),
  'report-002-torch-bn': report('report 002: the 3 conv + 3 FC net with BatchNorm', 'torch-bn', 3),
  'report-002-torch-nobn': report('report 002: the same net without BatchNorm', 'torch-nobn', 3),
  'report-002-torch-2conv3fc': report('report 002: 2 conv + 3 FC', 'torch-2conv3fc', 3),
  'report-002-torch-2conv2fc': report('report 002: 2 conv + 2 FC', 'torch-2conv2fc', 3),
  'report-004-keras-baseline': report(
    'report 004: Keras 3-conv + 3-dense MNIST baseline',
    'keras-baseline',
    3,
  ),
  'report-004-keras-bn': report('report 004: the baseline with BatchNorm', 'keras-bn', 3),
  'report-004-keras-shallow': report('report 004: the shallower variant', 'keras-shallow', 3),
  'report-004-keras-deep': report('report 004: the deeper variant', 'keras-deep', 3),
  'report-001-folder-lenet50': report(
    'report 001: Keras "LeNet" on the 50-class animal image folder (256x256x3)',
    'folder-lenet50',
    30,
    'folder',
  ),
  'report-003-mlp2': report('report 003: two-layer net on the 50-class image folder', 'mlp2', 10, 'folder'),
  'report-003-lenet5': report('report 003: LeNet-5 on the 50-class image folder', 'lenet5', 10, 'folder'),
  'accuracy-lenet5': {
    ...ACCURACY_ROW,
    description: 'classic LeNet-5 (relu, max pooling)',
    model: 'lenet5',
  },
  'accuracy-keras-baseline': {
    ...ACCURACY_ROW,
    description: 'Keras baseline of report 004 (97,482 params)',
    model: 'keras-baseline',
  },
  'accuracy-torch-bn': {
    ...ACCURACY_ROW,
    description: 'PyTorch BN + Dropout(0.75) preset of reports 000/002 (59,734 params)',
    model: 'torch-bn',
  },
  'accuracy-torch-bn-early-dropout': {
    ...ACCURACY_ROW,
    description: 'torch-bn with early dropout: dropout in epoch 1, off in epochs 2-3 (Liu et al. 2023)',
    model: 'torch-bn',
    batchSize: 32,
    earlyDropoutEpochs: 1,
  },
  'accuracy-lenet5-augment': {
    ...AUGMENTED_ROW,
    description: 'LeNet-5 with ±2 px crop augmentation, AdamW, one-cycle, label smoothing, 15 epochs',
    model: 'lenet5',
    epochs: 15,
  },
  'accuracy-best': {
    ...AUGMENTED_ROW,
    description:
      'best LeNet-family configuration: the keras-baseline of report 004 with ±2 px crop augmentation, AdamW, one-cycle, label smoothing',
    model: 'keras-baseline',
    epochs: 5,
  },
} satisfies Record<string, Recipe>);

/** A name in {@link RECIPES}. */
export type RecipeName = keyof typeof RECIPES;

/** Whether `name` is a key of {@link RECIPES}. */
export function isRecipeName(name: string): name is RecipeName {
  return Object.hasOwn(RECIPES, name);
}

/** The named recipe (a copy, to change freely); a {@link TrainError} listing the names if unknown. */
export function getRecipe(name: string): Recipe {
  if (!isRecipeName(name)) {
    throw new TrainError('recipe', `unknown recipe '${name}'; known: ${Object.keys(RECIPES).join(', ')}`);
  }
  return structuredClone(RECIPES[name]) as Recipe;
}

const RECIPE_FIELDS: readonly (keyof Recipe)[] = [
  'description',
  'model',
  'dataset',
  'epochs',
  'batchSize',
  'optimizer',
  'learningRate',
  'weightDecay',
  'schedule',
  'warmupEpochs',
  'labelSmoothing',
  'normalize',
  'augment',
  'validationFraction',
  'seed',
  'earlyDropoutEpochs',
];

function fail(field: string, message: string): never {
  throw new TrainError(field, `${field} ${message}`);
}

function isNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

function checkNonNegativeInteger(field: string, value: unknown): void {
  if (!(Number.isInteger(value) && (value as number) >= 0)) {
    fail(field, `must be a non-negative integer, got ${JSON.stringify(value)}`);
  }
}

function checkFraction(field: string, value: unknown): void {
  if (!(isNumber(value) && value >= 0 && value < 1))
    fail(field, `must be in [0, 1), got ${JSON.stringify(value)}`);
}

function checkOneOf(field: string, value: unknown, choices: readonly string[]): void {
  if (!choices.includes(value as string)) {
    fail(field, `must be one of ${choices.join(', ')}; got ${JSON.stringify(value)}`);
  }
}

function checkNormalize(value: unknown): void {
  if (value === 'unit' || value === 'standard') return;
  const stats = value as Partial<MeanStd> | null;
  const ok = (xs: unknown, positive: boolean) =>
    Array.isArray(xs) && xs.length > 0 && xs.every((x) => isNumber(x) && (!positive || x > 0));
  if (
    typeof stats !== 'object' ||
    stats === null ||
    !ok(stats.mean, false) ||
    !ok(stats.std, true) ||
    stats.mean?.length !== stats.std?.length
  ) {
    fail(
      'normalize',
      `must be 'unit', 'standard' or { mean, std } with one number per channel (std > 0); got ${JSON.stringify(value)}`,
    );
  }
}

/**
 * Checks that `value` is a complete {@link Recipe} (e.g. one read from JSON) and returns it typed;
 * throws a {@link TrainError} whose `field` names the first wrong field.
 */
export function validateRecipe(value: unknown): Recipe {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TrainError('recipe', `a recipe must be an object, got ${JSON.stringify(value)}`);
  }
  const r = value as Record<string, unknown>;
  for (const key of Object.keys(r)) {
    if (!(RECIPE_FIELDS as readonly string[]).includes(key)) {
      throw new TrainError(key, `unknown recipe field '${key}'; known: ${RECIPE_FIELDS.join(', ')}`);
    }
  }
  if (r.description !== undefined && typeof r.description !== 'string')
    fail('description', 'must be a string');
  for (const field of ['model', 'dataset'] as const) {
    if (typeof r[field] !== 'string' || r[field] === '') {
      fail(field, `must be a non-empty string, got ${JSON.stringify(r[field])}`);
    }
  }
  for (const field of ['epochs', 'batchSize'] as const) checkPositiveInteger(field, r[field] as number);
  checkOneOf('optimizer', r.optimizer, OPTIMIZER_NAMES);
  if (!(isNumber(r.learningRate) && r.learningRate > 0)) {
    fail('learningRate', `must be a positive number, got ${JSON.stringify(r.learningRate)}`);
  }
  if (r.weightDecay !== undefined && !(isNumber(r.weightDecay) && r.weightDecay >= 0)) {
    fail('weightDecay', `must be a non-negative number, got ${JSON.stringify(r.weightDecay)}`);
  }
  checkOneOf('schedule', r.schedule, RECIPE_SCHEDULES);
  if (!(isNumber(r.warmupEpochs) && r.warmupEpochs >= 0)) {
    fail('warmupEpochs', `must be a non-negative number, got ${JSON.stringify(r.warmupEpochs)}`);
  }
  checkFraction('labelSmoothing', r.labelSmoothing);
  checkNormalize(r.normalize);
  if (typeof r.augment !== 'boolean')
    fail('augment', `must be true or false, got ${JSON.stringify(r.augment)}`);
  checkFraction('validationFraction', r.validationFraction);
  checkNonNegativeInteger('seed', r.seed);
  if (r.earlyDropoutEpochs !== undefined) checkNonNegativeInteger('earlyDropoutEpochs', r.earlyDropoutEpochs);
  return r as unknown as Recipe;
}
