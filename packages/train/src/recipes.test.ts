import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DATASET_NAMES, meanStd } from '@lenet/datasets';
import { presets } from '@lenet/models';
import { describe, expect, it } from 'vitest';
import { TrainError } from './errors.js';
import { recipeToFitOptions } from './recipe-fit.js';
import { DEFAULT_RECIPE, getRecipe, RECIPES, type Recipe, validateRecipe } from './recipes.js';
import { synthetic } from './testing/helpers.js';

/** `lenet train`'s defaults before recipes existed, written out flag by flag. */
const CLI_DEFAULTS = {
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
};

const hyperParameters = (r: Recipe) => {
  const { description: _, ...rest } = r;
  return rest;
};

type Optimizer = { optimizer: string; weightDecay?: number; augment: boolean };

describe('recipes', () => {
  it('DEFAULT_RECIPE holds the CLI defaults', () => {
    expect(hyperParameters(DEFAULT_RECIPE)).toEqual(CLI_DEFAULTS);
    expect(Object.isFrozen(DEFAULT_RECIPE)).toBe(true);
  });

  it("the report recipes are what `lenet reproduce` ran: 'lenet train --model M --epochs N' (and --dataset)", () => {
    const reproduced: [string, string, number, string][] = [
      ['report-000-torch-bn', 'torch-bn', 3, 'mnist'],
      ['report-002-torch-bn', 'torch-bn', 3, 'mnist'],
      ['report-002-torch-nobn', 'torch-nobn', 3, 'mnist'],
      ['report-002-torch-2conv3fc', 'torch-2conv3fc', 3, 'mnist'],
      ['report-002-torch-2conv2fc', 'torch-2conv2fc', 3, 'mnist'],
      ['report-004-keras-baseline', 'keras-baseline', 3, 'mnist'],
      ['report-004-keras-bn', 'keras-bn', 3, 'mnist'],
      ['report-004-keras-shallow', 'keras-shallow', 3, 'mnist'],
      ['report-004-keras-deep', 'keras-deep', 3, 'mnist'],
      ['report-001-folder-lenet50', 'folder-lenet50', 30, 'folder'],
      ['report-003-mlp2', 'mlp2', 10, 'folder'],
      ['report-003-lenet5', 'lenet5', 10, 'folder'],
    ];
    for (const [name, model, epochs, dataset] of reproduced) {
      expect(hyperParameters(getRecipe(name)), name).toEqual({ ...CLI_DEFAULTS, model, epochs, dataset });
    }
    expect(Object.keys(RECIPES).filter((n) => n.startsWith('report-'))).toHaveLength(reproduced.length);
  });

  it("the accuracy rows are scripts/accuracy's rows, and give the same fit options", () => {
    const mnistStats = { mean: [0.1307], std: [0.3081] };
    const adam: Optimizer = { optimizer: 'adam', augment: false };
    const adamw: Optimizer = { optimizer: 'adamw', weightDecay: 0.01, augment: true };
    const rows: [string, string, number, number, Optimizer, number | undefined][] = [
      ['lenet5', 'lenet5', 3, 64, adam, undefined],
      ['keras-baseline', 'keras-baseline', 3, 64, adam, undefined],
      ['torch-bn', 'torch-bn', 3, 64, adam, undefined],
      ['torch-bn-early-dropout', 'torch-bn', 3, 32, adam, 1],
      ['lenet5-augment', 'lenet5', 15, 64, adamw, undefined],
      ['best', 'keras-baseline', 5, 64, adamw, undefined],
    ];
    for (const [row, model, epochs, batchSize, opt, earlyDropoutEpochs] of rows) {
      const recipe = getRecipe(`accuracy-${row}`);
      expect(recipe.model, row).toBe(model);
      expect(recipe.dataset, row).toBe('mnist');
      expect(recipe.seed, row).toBe(1);
      expect(recipe.earlyDropoutEpochs, row).toBe(earlyDropoutEpochs);
      const fit = recipeToFitOptions(recipe);
      const { callbacks, ...rest } = fit;
      expect(rest, row).toEqual({
        epochs,
        batchSize,
        optimizer: opt.optimizer,
        learningRate: 4e-3,
        ...(opt.weightDecay === undefined ? {} : { weightDecay: opt.weightDecay }),
        schedule: { type: 'oneCycle' },
        labelSmoothing: 0.1,
        normalize: mnistStats,
        augment: opt.augment,
        validation: undefined,
        seed: 1,
      });
      expect(
        callbacks?.map((c) => c.name),
        row,
      ).toEqual(earlyDropoutEpochs === undefined ? [] : ['earlyDropout']);
    }
    expect(Object.keys(RECIPES).filter((n) => n.startsWith('accuracy-'))).toHaveLength(rows.length);
  });

  it('every named recipe is valid, survives JSON and names a known preset and data set', () => {
    const presetNames = presets.map((p) => p.name);
    for (const [name, recipe] of Object.entries(RECIPES)) {
      expect(validateRecipe(JSON.parse(JSON.stringify(recipe))), name).toEqual(recipe);
      expect(presetNames, name).toContain(recipe.model);
      expect(DATASET_NAMES, name).toContain(recipe.dataset);
    }
  });

  it('getRecipe returns a copy and names the known recipes when the name is unknown', () => {
    const copy = getRecipe('default');
    copy.epochs = 99;
    expect(DEFAULT_RECIPE.epochs).toBe(3);
    expect(() => getRecipe('report-999')).toThrow(
      /unknown recipe 'report-999'; known: default, report-000-torch-bn/,
    );
  });
});

describe('recipeToFitOptions', () => {
  it("gives the CLI's fit options for the defaults, with the training set's statistics", () => {
    const train = synthetic(50);
    const callbacks = [{ name: 'mine' }];
    const fit = recipeToFitOptions(DEFAULT_RECIPE, { train, callbacks, workers: 2 });
    const { mean, std } = meanStd(train);
    expect(fit).toEqual({
      epochs: 3,
      batchSize: 64,
      optimizer: 'adam',
      learningRate: 4e-3,
      schedule: { type: 'oneCycle' },
      labelSmoothing: 0.1,
      normalize: { mean, std },
      augment: false,
      validation: { fraction: 0.1, seed: 0 },
      seed: 0,
      callbacks,
      workers: 2,
    });
    expect('train' in fit).toBe(false);
  });

  it('maps schedule names and warm-up as the CLI did', () => {
    const schedule = (s: Recipe['schedule'], warmupEpochs = 0, epochs = 10) =>
      recipeToFitOptions({ ...DEFAULT_RECIPE, normalize: 'unit', schedule: s, warmupEpochs, epochs })
        .schedule;
    expect(schedule('constant')).toEqual({ type: 'constant' });
    expect(schedule('constant', 2)).toEqual({ type: 'constant', warmupEpochs: 2 });
    expect(schedule('step', 1)).toEqual({ type: 'step', stepEpochs: 3, gamma: 0.1, warmupEpochs: 1 });
    expect(schedule('step', 0, 2)).toEqual({ type: 'step', stepEpochs: 1, gamma: 0.1 });
    expect(schedule('cosine', 1)).toEqual({ type: 'cosine', warmupEpochs: 1 });
    expect(schedule('one-cycle', 1)).toEqual({ type: 'oneCycle' });
    expect(schedule('plateau', 1)).toEqual({ type: 'reduceOnPlateau', warmupEpochs: 1 });
  });

  it("needs the training set for 'standard' normalisation", () => {
    expect(() => recipeToFitOptions(DEFAULT_RECIPE)).toThrow(
      expect.objectContaining({ name: 'TrainError', field: 'normalize' }),
    );
  });
});

describe('validateRecipe', () => {
  const bad: [string, Record<string, unknown>, RegExp][] = [
    ['learningrate', { learningrate: 1 }, /unknown recipe field 'learningrate'; known: description, model/],
    ['model', { model: '' }, /model must be a non-empty string, got ""/],
    ['dataset', { dataset: undefined }, /dataset must be a non-empty string, got undefined/],
    ['epochs', { epochs: 0 }, /epochs must be a positive integer, got 0/],
    ['batchSize', { batchSize: 1.5 }, /batchSize must be a positive integer, got 1.5/],
    [
      'optimizer',
      { optimizer: 'adagrad' },
      /optimizer must be one of adam, adamw, sgd, rmsprop; got "adagrad"/,
    ],
    ['learningRate', { learningRate: -1 }, /learningRate must be a positive number, got -1/],
    ['learningRate', { learningRate: '4e-3' }, /learningRate must be a positive number, got "4e-3"/],
    ['weightDecay', { weightDecay: -0.1 }, /weightDecay must be a non-negative number/],
    [
      'schedule',
      { schedule: 'oneCycle' },
      /schedule must be one of constant, step, cosine, one-cycle, plateau/,
    ],
    ['warmupEpochs', { warmupEpochs: -1 }, /warmupEpochs must be a non-negative number/],
    ['labelSmoothing', { labelSmoothing: 1 }, /labelSmoothing must be in \[0, 1\), got 1/],
    ['normalize', { normalize: 'zscore' }, /normalize must be 'unit', 'standard' or \{ mean, std \}/],
    ['normalize', { normalize: { mean: [0.1], std: [0] } }, /normalize must be/],
    ['normalize', { normalize: { mean: [0.1, 0.2], std: [1] } }, /normalize must be/],
    ['augment', { augment: 'yes' }, /augment must be true or false, got "yes"/],
    ['validationFraction', { validationFraction: 1 }, /validationFraction must be in \[0, 1\)/],
    ['seed', { seed: -1 }, /seed must be a non-negative integer, got -1/],
    ['earlyDropoutEpochs', { earlyDropoutEpochs: 0.5 }, /earlyDropoutEpochs must be a non-negative integer/],
    ['description', { description: 3 }, /description must be a string/],
  ];

  it('accepts fixed statistics and leaves optional fields out', () => {
    const recipe = { ...CLI_DEFAULTS, normalize: { mean: [0.5, 0.5, 0.5], std: [0.2, 0.2, 0.2] } };
    expect(validateRecipe(recipe)).toBe(recipe);
  });

  it('names the wrong field in a TrainError', () => {
    for (const [field, change, message] of bad) {
      const recipe = { ...CLI_DEFAULTS, ...change };
      let error: unknown;
      try {
        validateRecipe(recipe);
      } catch (e) {
        error = e;
      }
      expect(error, field).toBeInstanceOf(TrainError);
      expect((error as TrainError).field, field).toBe(field);
      expect((error as TrainError).message, field).toMatch(message);
    }
  });

  it('rejects what is not an object', () => {
    for (const value of [null, 3, 'lenet5', [CLI_DEFAULTS]]) {
      expect(() => validateRecipe(value)).toThrow(/a recipe must be an object/);
    }
  });
});

it('@lenet/train/recipes loads neither TensorFlow.js nor the data set loaders', () => {
  const src = dirname(fileURLToPath(import.meta.url));
  const seen = new Set<string>();
  const external: string[] = [];
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    // Value imports only: `import type` and `export type` are erased from the build.
    for (const m of readFileSync(join(src, file), 'utf8').matchAll(
      /^(?:import|export) (?!type )[^;]*? from '([^']+)';/gms,
    )) {
      const target = m[1];
      if (target.startsWith('./')) visit(target.slice(2).replace(/\.js$/, '.ts'));
      // @lenet/common has no dependencies and no TensorFlow.js.
      else if (target !== '@lenet/common') external.push(target);
    }
  };
  visit('recipes.ts');
  expect(seen.size).toBeGreaterThan(1);
  expect(external).toEqual([]);
});
