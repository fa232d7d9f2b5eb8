import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getPreset } from '@lenet/models';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadStudy, MAX_STUDY_JOBS, parseStudy, STUDY_MAX_BYTES, validateStudy } from './definition.js';
import { StudyError } from './errors.js';

/** A small valid study; tests break one field at a time. */
function valid(): Record<string, unknown> {
  return {
    name: 'my-study',
    description: 'lenet5 against mlp2',
    dataset: 'mnist',
    recipe: { learningRate: 1e-3 },
    budget: { epochs: 1, trainLimit: 1000 },
    seeds: [0, 1],
    arms: [
      { name: 'lenet5', model: 'lenet5' },
      { name: 'mlp', model: 'mlp2', recipe: { batchSize: 32 } },
    ],
    comparisons: [{ a: 'lenet5', b: 'mlp', question: 'Does convolution help?' }],
  };
}

function refusal(value: unknown, source = 'x.json'): string {
  try {
    validateStudy(value, source);
  } catch (e) {
    expect(e).toBeInstanceOf(StudyError);
    expect((e as StudyError).code).toBe('STUDY_INVALID');
    expect((e as StudyError).kind).toBe('input');
    return (e as Error).message;
  }
  throw new Error('validateStudy accepted it');
}

const edit = (change: (s: Record<string, unknown> & { arms: Record<string, unknown>[] }) => void) => {
  const s = valid() as Record<string, unknown> & { arms: Record<string, unknown>[] };
  change(s);
  return s;
};

describe('validateStudy', () => {
  it('returns a clean copy of a valid study', () => {
    const input = valid();
    const study = validateStudy(input);
    expect(study).toEqual(input);
    expect(study.arms).not.toBe(input.arms);
    expect(validateStudy({ ...valid(), recipe: 'report-002-torch-bn' }).recipe).toBe('report-002-torch-bn');
  });

  it('names the file and the field of what is wrong', () => {
    const cases: [unknown, string][] = [
      [[], 'x.json: : must be an object, got []'],
      [{ ...valid(), colour: 'red' }, 'x.json: colour: unknown field (allowed: name, description,'],
      [
        { ...valid(), name: 'My Study' },
        `x.json: name: must be lower-case letters, digits and '-' only, got "My Study"`,
      ],
      [
        { ...valid(), description: undefined },
        'x.json: description: must be a non-empty string, got undefined',
      ],
      [
        { ...valid(), dataset: 'imagenet' },
        'x.json: dataset: must be one of mnist, fashion-mnist, kmnist, cifar10, cifar100, folder, got "imagenet"',
      ],
      [
        { ...valid(), input: [64, 64, 3] },
        'x.json: input: only an image folder ("dataset": "folder") is resized',
      ],
      [{ ...valid(), answers: { report: '002' } }, 'x.json: answers.question: must be a non-empty string'],
      [
        { ...valid(), recipe: 'fastest' },
        "x.json: recipe: unknown recipe 'fastest'; known: default, report-000-torch-bn",
      ],
      [
        { ...valid(), recipe: { learningRate: -1 } },
        'x.json: recipe.learningRate: must be a positive number, got -1',
      ],
      [
        { ...valid(), recipe: { seed: 3 } },
        `x.json: recipe.seed: not allowed here: seeds come from the study's "seeds"`,
      ],
      [
        { ...valid(), recipe: { epochs: 3 } },
        'x.json: recipe.epochs: not allowed here: epochs come from "budget.epochs"',
      ],
      [
        { ...valid(), recipe: { colour: 1 } },
        "x.json: recipe.colour: unknown recipe field 'colour'; known: description, model,",
      ],
      [{ ...valid(), budget: { epochs: 0 } }, 'x.json: budget.epochs: must be a positive integer, got 0'],
      [
        { ...valid(), budget: { epochs: 1, testLimit: 1.5 } },
        'x.json: budget.testLimit: must be a positive integer, got 1.5',
      ],
      [
        { ...valid(), budget: { epochs: 1, limit: 5 } },
        'x.json: budget.limit: unknown field (allowed: epochs, trainLimit, testLimit)',
      ],
      [
        { ...valid(), seeds: [] },
        'x.json: seeds: must be a non-empty array of non-negative integers, got []',
      ],
      [{ ...valid(), seeds: [0, -1] }, 'x.json: seeds[1]: must be a non-negative integer, got -1'],
      [{ ...valid(), seeds: [4, 2, 4] }, 'x.json: seeds[2]: seed 4 is listed twice'],
      [{ ...valid(), arms: [] }, 'x.json: arms: must be a non-empty array of arms, got []'],
      [
        edit((s) => (s.arms[1].name = 'lenet5')),
        "x.json: arms[1].name: 'lenet5' is also the name of arms[0]",
      ],
      [
        edit((s) => (s.arms[1].model = 'lenet6')),
        "x.json: arms[1].model: unknown preset 'lenet6' (known: lenet5,",
      ],
      [
        {
          ...valid(),
          dataset: 'folder',
          input: [8, 8, 3],
          arms: [{ name: 'deep', model: 'keras-deep' }],
          comparisons: [],
        },
        `x.json: arms[0].model: spec "keras-deep": layers[7] (maxPool): output height 0 <= 0`,
      ],
      [
        edit((s) => (s.arms[1].recipe = { batchSize: 0 })),
        'x.json: arms[1].recipe.batchSize: must be a positive integer, got 0',
      ],
      [
        edit((s) => (s.arms[1].recipe = { model: 'lenet5' })),
        'x.json: arms[1].recipe.model: not allowed here: each arm names its model',
      ],
      [
        edit((s) => (s.arms[0].seed = 1)),
        'x.json: arms[0].seed: unknown field (allowed: name, description, model, recipe)',
      ],
      [
        { ...valid(), comparisons: [{ a: 'lenet5', b: 'cnn' }] },
        "x.json: comparisons[0].b: no arm is named 'cnn' (arms: lenet5, mlp)",
      ],
      [
        { ...valid(), comparisons: [{ a: 'mlp', b: 'mlp' }] },
        "x.json: comparisons[0].b: compares arm 'mlp' with itself",
      ],
      [
        {
          ...valid(),
          comparisons: [
            { a: 'mlp', b: 'lenet5' },
            { a: 'lenet5', b: 'mlp' },
          ],
        },
        "x.json: comparisons[1]: compares 'lenet5' and 'mlp' a second time",
      ],
      [
        { ...valid(), seeds: Array.from({ length: MAX_STUDY_JOBS }, (_, i) => i) },
        `x.json: seeds: 2 arms × ${MAX_STUDY_JOBS} seeds = ${2 * MAX_STUDY_JOBS} jobs, more than the limit of ${MAX_STUDY_JOBS}`,
      ],
    ];
    for (const [value, message] of cases) expect(refusal(value)).toContain(message);
  });

  it('checks an inline spec: its own fields, and its input and classes against the data set', () => {
    const spec = getPreset('lenet5').spec;
    expect(validateStudy(edit((s) => (s.arms[0].model = spec))).arms[0].model).toEqual(spec);
    const badLayer = {
      ...spec,
      layers: [{ type: 'conv2d', filters: 0, kernel: 5 }, ...spec.layers.slice(1)],
    };
    expect(refusal(edit((s) => (s.arms[0].model = badLayer)))).toMatch(
      /^x\.json: arms\[0\]\.model: spec "lenet5": layers\[0\] \(conv2d\): field "filters": /,
    );
    const rgb = getPreset('lenet5', { input: [32, 32, 3] }).spec;
    expect(refusal(edit((s) => (s.arms[0].model = rgb)))).toBe(
      "x.json: arms[0].model: the spec's input 32x32x3 does not match the mnist images (28x28x1)",
    );
    const five = getPreset('lenet5', { classes: 5 }).spec;
    expect(refusal(edit((s) => (s.arms[0].model = five)))).toBe(
      'x.json: arms[0].model: the spec has 5 classes, the mnist data 10',
    );
  });

  it('takes an image size for an image folder only, and checks it', () => {
    const folder = { ...valid(), dataset: 'folder', input: [64, 64, 3] };
    expect(validateStudy(folder).input).toEqual([64, 64, 3]);
    expect(refusal({ ...folder, input: [64, 64, 2] })).toContain(
      'x.json: input: must be [height, width, channels] (positive integers, 1 or 3 channels), got [64,64,2]',
    );
    expect(
      refusal({
        ...folder,
        input: [8, 8, 3],
        arms: [{ name: 'big', model: 'folder-lenet50' }],
        comparisons: [],
      }),
    ).toMatch(/^x\.json: arms\[0\]\.model: spec "folder-lenet50": layers\[14\] \(maxPool\): output height 0/);
  });

  it('names a built-in study by default as "study"', () => {
    expect(() => validateStudy({ ...valid(), seeds: 'all' })).toThrow(
      'study: seeds: must be a non-empty array of non-negative integers, got "all"',
    );
  });
});

describe('parseStudy and loadStudy', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lenet-study-def-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('parses JSON text, naming the file when it is not JSON or nests too deeply', () => {
    expect(parseStudy(JSON.stringify(valid()), 'a.json').name).toBe('my-study');
    expect(() => parseStudy('{"name": ', 'a.json')).toThrow(/^a\.json: not valid JSON: /);
    expect(() => parseStudy(`${'['.repeat(100)}${']'.repeat(100)}`, 'deep.json')).toThrow(
      'deep.json: nested more than 64 levels deep',
    );
  });

  it('reads a regular file within the size limit, naming the file otherwise', async () => {
    const file = join(dir, 'study.json');
    await writeFile(file, JSON.stringify(valid()));
    expect((await loadStudy(file)).arms.map((a) => a.name)).toEqual(['lenet5', 'mlp']);
    await expect(loadStudy(join(dir, 'missing.json'))).rejects.toThrow(
      `${join(dir, 'missing.json')}: cannot read the study file: missing: no such file`,
    );
    await mkdir(join(dir, 'folder.json'));
    await expect(loadStudy(join(dir, 'folder.json'))).rejects.toThrow('is a directory, expected a file');
    await writeFile(join(dir, 'big.json'), ' '.repeat(STUDY_MAX_BYTES + 1));
    await expect(loadStudy(join(dir, 'big.json'))).rejects.toThrow(
      `more than the ${STUDY_MAX_BYTES}-byte limit`,
    );
    await writeFile(join(dir, 'bad.json'), JSON.stringify({ ...valid(), seeds: [1, 1] }));
    await expect(loadStudy(join(dir, 'bad.json'))).rejects.toThrow(
      `${join(dir, 'bad.json')}: seeds[1]: seed 1 is listed twice`,
    );
  });
});
