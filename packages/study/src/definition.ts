// Study files: read, parsed and checked field by field. Every refusal names the file and the
// field (`arms[1].model`), as spec files do.
import { describeValue as describe, readRegularFile } from '@lenet/common';
import { DATASET_NAMES, isDatasetName } from '@lenet/datasets';
import { jsonTextDepth, MAX_JSON_DEPTH, type ModelSpec, validateSpec } from '@lenet/models';
import {
  DEFAULT_RECIPE,
  getRecipe,
  isRecipeName,
  RECIPES,
  type Recipe,
  validateRecipe,
} from '@lenet/train/recipes';
import { ArmModelProblem, armSpec, dataShape } from './arm-spec.js';
import { StudyError } from './errors.js';
import type { StudyArm, StudyBudget, StudyComparison, StudyDefinition } from './types.js';

/** Largest study file read, in bytes (a study with inline specs is a few kB). */
export const STUDY_MAX_BYTES = 1 << 20;

/** Most jobs (arms × seeds) one study may plan: beyond it a typo in `seeds` is more likely than intent. */
export const MAX_STUDY_JOBS = 10_000;

const NAME = /^[a-z0-9-]+$/;
const STUDY_FIELDS = [
  'name',
  'description',
  'answers',
  'dataset',
  'data',
  'input',
  'recipe',
  'budget',
  'seeds',
  'arms',
  'comparisons',
] as const;
/** Recipe fields a study decides itself: the arm's model, the study's data set, the budget, the seed. */
const RECIPE_FIELDS_DECIDED: Record<string, string> = {
  seed: 'seeds come from the study\'s "seeds"',
  model: 'each arm names its model in "model"',
  dataset: 'the study names its data set in "dataset"',
  epochs: 'epochs come from "budget.epochs"',
};

type Overrides = Partial<Omit<Recipe, 'seed' | 'model' | 'dataset'>>;

class Checker {
  constructor(private readonly source: string) {}

  fail(path: string, message: string, cause?: unknown): never {
    throw new StudyError(
      'STUDY_INVALID',
      `${this.source}: ${path}: ${message}`,
      cause === undefined ? {} : { cause },
    );
  }

  object(path: string, value: unknown, fields: readonly string[]): Record<string, unknown> {
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      this.fail(path, `must be an object, got ${describe(value)}`);
    for (const key of Object.keys(value))
      if (!fields.includes(key)) this.fail(join(path, key), `unknown field (allowed: ${fields.join(', ')})`);
    return value as Record<string, unknown>;
  }

  string(path: string, value: unknown, optional = false): string | undefined {
    if (value === undefined && optional) return undefined;
    if (typeof value !== 'string' || value === '')
      this.fail(path, `must be a non-empty string, got ${describe(value)}`);
    return value;
  }

  name(path: string, value: unknown): string {
    const s = this.string(path, value) as string;
    if (!NAME.test(s)) this.fail(path, `must be lower-case letters, digits and '-' only, got ${describe(s)}`);
    return s;
  }

  int(path: string, value: unknown, min: number, optional = false): number | undefined {
    if (value === undefined && optional) return undefined;
    if (!Number.isSafeInteger(value) || (value as number) < min)
      this.fail(
        path,
        `must be ${min === 0 ? 'a non-negative' : 'a positive'} integer, got ${describe(value)}`,
      );
    return value as number;
  }
}

function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

/** A recipe over which overrides are merged: the named one, or the default with `partial` over it. */
function baseRecipe(
  c: Checker,
  path: string,
  value: unknown,
): { recipe: Recipe; value: StudyDefinition['recipe'] } {
  if (typeof value === 'string') {
    if (!isRecipeName(value)) c.fail(path, `unknown recipe '${value}'; known: ${knownRecipes()}`);
    return { recipe: getRecipe(value), value };
  }
  const overrides = recipeOverrides(c, path, value, { ...DEFAULT_RECIPE });
  return { recipe: { ...DEFAULT_RECIPE, ...overrides }, value: overrides };
}

function knownRecipes(): string {
  return Object.keys(RECIPES).join(', ');
}

/** Checks `value` as fields over `base` (only known, study-decided ones refused); returns a copy. */
function recipeOverrides(c: Checker, path: string, value: unknown, base: Recipe): Overrides {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    c.fail(path, `must be a recipe name or an object of recipe fields, got ${describe(value)}`);
  for (const key of Object.keys(value)) {
    const why = RECIPE_FIELDS_DECIDED[key];
    if (why !== undefined) c.fail(join(path, key), `not allowed here: ${why}`);
  }
  const overrides = structuredClone(value) as Overrides;
  try {
    validateRecipe({ ...base, ...overrides });
  } catch (e) {
    const field = (e as { field?: string }).field ?? '';
    const message = (e as Error).message;
    c.fail(join(path, field), message.startsWith(`${field} `) ? message.slice(field.length + 1) : message, e);
  }
  return overrides;
}

function budgetOf(c: Checker, value: unknown): StudyBudget {
  const b = c.object('budget', value, ['epochs', 'trainLimit', 'testLimit']);
  const trainLimit = c.int('budget.trainLimit', b.trainLimit, 1, true);
  const testLimit = c.int('budget.testLimit', b.testLimit, 1, true);
  return {
    epochs: c.int('budget.epochs', b.epochs, 1) as number,
    ...(trainLimit === undefined ? {} : { trainLimit }),
    ...(testLimit === undefined ? {} : { testLimit }),
  };
}

function seedsOf(c: Checker, value: unknown): number[] {
  if (!Array.isArray(value) || value.length === 0)
    c.fail('seeds', `must be a non-empty array of non-negative integers, got ${describe(value)}`);
  const seen = new Set<number>();
  return value.map((s, i) => {
    const seed = c.int(`seeds[${i}]`, s, 0) as number;
    if (seen.has(seed)) c.fail(`seeds[${i}]`, `seed ${seed} is listed twice`);
    seen.add(seed);
    return seed;
  });
}

function inputOf(c: Checker, value: unknown, dataset: string): [number, number, number] | undefined {
  if (value === undefined) return undefined;
  if (dataset !== 'folder')
    c.fail('input', `only an image folder ("dataset": "folder") is resized; ${dataset} images have one size`);
  if (
    !Array.isArray(value) ||
    value.length !== 3 ||
    !value.every((x) => Number.isSafeInteger(x) && x > 0) ||
    (value[2] !== 1 && value[2] !== 3)
  )
    c.fail(
      'input',
      `must be [height, width, channels] (positive integers, 1 or 3 channels), got ${describe(value)}`,
    );
  return [value[0], value[1], value[2]];
}

function armsOf(
  c: Checker,
  value: unknown,
  study: Pick<StudyDefinition, 'dataset' | 'input'>,
  base: Recipe,
): StudyArm[] {
  if (!Array.isArray(value) || value.length === 0)
    c.fail('arms', `must be a non-empty array of arms, got ${describe(value)}`);
  const names = new Map<string, number>();
  const shape = dataShape(study.dataset, study.input);
  return value.map((v, i) => {
    const path = `arms[${i}]`;
    const a = c.object(path, v, ['name', 'description', 'model', 'recipe']);
    const name = c.name(`${path}.name`, a.name);
    const first = names.get(name);
    if (first !== undefined) c.fail(`${path}.name`, `'${name}' is also the name of arms[${first}]`);
    names.set(name, i);
    const description = c.string(`${path}.description`, a.description, true);
    let model: string | ModelSpec;
    if (typeof a.model === 'string') model = a.model;
    else {
      try {
        model = validateSpec(a.model);
      } catch (e) {
        c.fail(`${path}.model`, (e as Error).message, e);
      }
    }
    try {
      armSpec(model, shape);
    } catch (e) {
      if (e instanceof ArmModelProblem) c.fail(`${path}.model`, e.message, e);
      throw e;
    }
    const recipe = a.recipe === undefined ? undefined : recipeOverrides(c, `${path}.recipe`, a.recipe, base);
    return {
      name,
      ...(description === undefined ? {} : { description }),
      model,
      ...(recipe === undefined ? {} : { recipe }),
    };
  });
}

function comparisonsOf(c: Checker, value: unknown, arms: StudyArm[]): StudyComparison[] {
  if (!Array.isArray(value))
    c.fail('comparisons', `must be an array of { a, b, question }, got ${describe(value)}`);
  const names = arms.map((a) => a.name);
  const pairs = new Set<string>();
  return value.map((v, i) => {
    const path = `comparisons[${i}]`;
    const o = c.object(path, v, ['a', 'b', 'question']);
    for (const side of ['a', 'b'] as const) {
      const arm = c.string(`${path}.${side}`, o[side]) as string;
      if (!names.includes(arm))
        c.fail(`${path}.${side}`, `no arm is named '${arm}' (arms: ${names.join(', ')})`);
    }
    const a = o.a as string;
    const b = o.b as string;
    if (a === b) c.fail(`${path}.b`, `compares arm '${a}' with itself`);
    const key = [a, b].sort().join('\u0000');
    if (pairs.has(key)) c.fail(path, `compares '${a}' and '${b}' a second time`);
    pairs.add(key);
    const question = c.string(`${path}.question`, o.question, true);
    return { a, b, ...(question === undefined ? {} : { question }) };
  });
}

/**
 * Checks that `value` (parsed JSON) is a well-formed {@link StudyDefinition} and returns a clean
 * copy: known fields only, arm names unique, models that exist and fit the data set, recipe fields
 * that validate once merged over the base recipe, distinct seeds, comparisons of existing arms.
 * @param source How the study is named in errors (the file, or `built-in study <name>`).
 * @throws StudyError `STUDY_INVALID` naming `source` and the field, e.g. `arms[1].model`.
 */
export function validateStudy(value: unknown, source = 'study'): StudyDefinition {
  const c: Checker = new Checker(source);
  const s = c.object('', value, STUDY_FIELDS);
  const name = c.name('name', s.name);
  const description = c.string('description', s.description) as string;
  let answers: StudyDefinition['answers'];
  if (s.answers !== undefined) {
    const a = c.object('answers', s.answers, ['report', 'question']);
    answers = {
      report: c.string('answers.report', a.report) as string,
      question: c.string('answers.question', a.question) as string,
    };
  }
  if (typeof s.dataset !== 'string' || !isDatasetName(s.dataset))
    c.fail('dataset', `must be one of ${DATASET_NAMES.join(', ')}, got ${describe(s.dataset)}`);
  const dataset = s.dataset;
  const data = c.string('data', s.data, true);
  const input = inputOf(c, s.input, dataset);
  const { recipe: base, value: recipe } = baseRecipe(c, 'recipe', s.recipe);
  const budget = budgetOf(c, s.budget);
  const seeds = seedsOf(c, s.seeds);
  const arms = armsOf(c, s.arms, { dataset, input }, base);
  if (arms.length * seeds.length > MAX_STUDY_JOBS)
    c.fail(
      'seeds',
      `${arms.length} arms × ${seeds.length} seeds = ${arms.length * seeds.length} jobs, more than the limit of ${MAX_STUDY_JOBS}`,
    );
  const comparisons = comparisonsOf(c, s.comparisons, arms);
  return {
    name,
    description,
    ...(answers === undefined ? {} : { answers }),
    dataset,
    ...(data === undefined ? {} : { data }),
    ...(input === undefined ? {} : { input }),
    recipe,
    budget,
    seeds,
    arms,
    comparisons,
  };
}

/**
 * Parses a study from JSON text and validates it ({@link validateStudy}); JSON nested deeper than
 * `MAX_JSON_DEPTH` is refused before it is parsed.
 * @throws StudyError `STUDY_INVALID` naming `file`.
 */
export function parseStudy(text: string, file: string): StudyDefinition {
  if (jsonTextDepth(text) > MAX_JSON_DEPTH)
    throw new StudyError(
      'STUDY_INVALID',
      `${file}: nested more than ${MAX_JSON_DEPTH} levels deep (a study nests about 7); refused before it is read further`,
    );
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new StudyError('STUDY_INVALID', `${file}: not valid JSON: ${(e as Error).message}`, { cause: e });
  }
  return validateStudy(value, file);
}

/**
 * Reads a study file: a regular file (a FIFO or device is refused at once) of at most
 * `maxBytes` (default {@link STUDY_MAX_BYTES}), parsed and validated ({@link parseStudy}).
 * @throws StudyError `STUDY_INVALID` naming the file (and the field).
 */
export async function loadStudy(path: string, options: { maxBytes?: number } = {}): Promise<StudyDefinition> {
  const bytes = await readRegularFile(
    path,
    (reason, cause) =>
      new StudyError(
        'STUDY_INVALID',
        `${path}: cannot read the study file: ${reason}`,
        cause === undefined ? {} : { cause },
      ),
    { maxBytes: options.maxBytes ?? STUDY_MAX_BYTES },
  );
  return parseStudy(bytes.toString('utf8'), path);
}
