import { type Dataset, meanStd } from '@lenet/datasets';
import { earlyDropout } from './callbacks/early-dropout.js';
import { TrainError } from './errors.js';
import type { FitOptions } from './fit.js';
import type { Recipe } from './recipes.js';
import type { ScheduleConfig } from './schedules.js';

/** The `fit` options a {@link Recipe} decides. */
type RecipeFitKey =
  | 'epochs'
  | 'batchSize'
  | 'optimizer'
  | 'learningRate'
  | 'weightDecay'
  | 'schedule'
  | 'labelSmoothing'
  | 'normalize'
  | 'augment'
  | 'validation'
  | 'seed';

/** What a recipe leaves to the caller: the other `fit` options, and the training set for `'standard'`. */
export type RecipeExtras = Omit<FitOptions, RecipeFitKey> & {
  /** The training set, needed when the recipe normalises with its statistics (`'standard'`). */
  train?: Dataset;
};

/** `fit` options with the normalisation resolved, to evaluate and save the model the same way. */
export type RecipeFitOptions = FitOptions & { normalize: 'unit' | { mean: number[]; std: number[] } };

function scheduleConfig(recipe: Recipe): ScheduleConfig {
  const warm = recipe.warmupEpochs > 0 ? { warmupEpochs: recipe.warmupEpochs } : {};
  switch (recipe.schedule) {
    case 'constant':
      return { type: 'constant', ...warm };
    case 'step':
      return { type: 'step', stepEpochs: Math.max(1, Math.floor(recipe.epochs / 3)), gamma: 0.1, ...warm };
    case 'cosine':
      return { type: 'cosine', ...warm };
    case 'one-cycle':
      return { type: 'oneCycle' };
    case 'plateau':
      return { type: 'reduceOnPlateau', ...warm };
  }
}

function resolveNormalize(recipe: Recipe, train: Dataset | undefined): RecipeFitOptions['normalize'] {
  if (recipe.normalize === 'unit') return 'unit';
  if (recipe.normalize !== 'standard')
    return { mean: [...recipe.normalize.mean], std: [...recipe.normalize.std] };
  if (!train) {
    throw new TrainError(
      'normalize',
      "normalize 'standard' needs the training set (extras.train) to compute its per-channel mean and std",
    );
  }
  const { mean, std } = meanStd(train);
  return { mean, std };
}

/**
 * The `fit` options of `recipe`, merged with `extras` (callbacks, spec, workers, resume…). A
 * `'standard'` normalisation is computed from `extras.train`; `earlyDropoutEpochs` appends an
 * `earlyDropout` callback after the caller's.
 */
export function recipeToFitOptions(recipe: Recipe, extras: RecipeExtras = {}): RecipeFitOptions {
  const { train, ...rest } = extras;
  const callbacks = [...(rest.callbacks ?? [])];
  if (recipe.earlyDropoutEpochs !== undefined)
    callbacks.push(earlyDropout({ epochs: recipe.earlyDropoutEpochs }));
  return {
    ...rest,
    epochs: recipe.epochs,
    batchSize: recipe.batchSize,
    optimizer: recipe.optimizer,
    learningRate: recipe.learningRate,
    ...(recipe.weightDecay === undefined ? {} : { weightDecay: recipe.weightDecay }),
    schedule: scheduleConfig(recipe),
    labelSmoothing: recipe.labelSmoothing,
    normalize: resolveNormalize(recipe, train),
    augment: recipe.augment,
    validation:
      recipe.validationFraction > 0 ? { fraction: recipe.validationFraction, seed: recipe.seed } : undefined,
    seed: recipe.seed,
    callbacks,
  };
}
