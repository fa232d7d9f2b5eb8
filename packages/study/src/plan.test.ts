import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getPreset } from '@lenet/models';
import { DEFAULT_RECIPE, getRecipe } from '@lenet/train/recipes';
import { describe, expect, it } from 'vitest';
import { validateStudy } from './definition.js';
import { jobId } from './job.js';
import { planJobs, studyCodeVersion, withOverrides } from './plan.js';
import type { StudyDefinition } from './types.js';

const study: StudyDefinition = validateStudy({
  name: 'plan-test',
  description: 'planning',
  dataset: 'mnist',
  recipe: { learningRate: 1e-3, labelSmoothing: 0 },
  budget: { epochs: 2, trainLimit: 500, testLimit: 200 },
  seeds: [3, 1],
  arms: [
    { name: 'a', model: 'lenet5', recipe: { batchSize: 32 } },
    { name: 'b', model: getPreset('mlp2', { hidden: 20 }).spec },
  ],
  comparisons: [{ a: 'a', b: 'b' }],
});

describe('planJobs', () => {
  it('makes one job per seed x arm with the merged recipe, the resolved spec and its content hash as id', async () => {
    const jobs = await planJobs(study);
    expect(jobs.map((j) => `${j.arm}/${j.seed}`)).toEqual(['a/3', 'b/3', 'a/1', 'b/1']);
    const [a3, b3] = jobs;
    expect(a3.recipe).toEqual({
      ...Object.fromEntries(Object.entries(DEFAULT_RECIPE).filter(([k]) => k !== 'description')),
      learningRate: 1e-3,
      labelSmoothing: 0,
      batchSize: 32,
      model: 'lenet5',
      dataset: 'mnist',
      epochs: 2,
      seed: 3,
    });
    expect(b3.recipe).toMatchObject({ model: 'mlp2', batchSize: 64, seed: 3 });
    expect(a3.spec).toEqual(getPreset('lenet5').spec);
    expect(b3.spec.layers[1]).toMatchObject({ type: 'dense', units: 20 });
    expect(a3.data).toEqual({ dataset: 'mnist', trainLimit: 500, testLimit: 200 });
    expect(a3).toMatchObject({
      type: 'lenet.study.train',
      version: 1,
      study: 'plan-test',
      code: studyCodeVersion(),
    });
    for (const job of jobs) {
      const { id, ...content } = job;
      expect(id).toBe(jobId(content));
    }
    expect(new Set(jobs.map((j) => j.id)).size).toBe(4);
  });

  it('takes a named recipe as the base', async () => {
    const [job] = await planJobs({ ...study, recipe: 'accuracy-lenet5' }, { seeds: [0] });
    const named = getRecipe('accuracy-lenet5');
    expect(job.recipe).toMatchObject({
      normalize: named.normalize,
      validationFraction: 0,
      batchSize: 32,
      epochs: 2,
      seed: 0,
    });
  });

  it('applies overrides, checked like the file, and gives the changed jobs new ids', async () => {
    const base = await planJobs(study);
    const more = await planJobs(study, { seeds: [1, 3, 5], epochs: 1, trainLimit: 100, testLimit: 50 });
    expect(more.map((j) => `${j.arm}/${j.seed}/${j.recipe.epochs}`)).toEqual([
      'a/1/1',
      'b/1/1',
      'a/3/1',
      'b/3/1',
      'a/5/1',
      'b/5/1',
    ]);
    expect(more[0].data).toEqual({ dataset: 'mnist', trainLimit: 100, testLimit: 50 });
    expect(more.map((j) => j.id).filter((id) => base.some((b) => b.id === id))).toEqual([]);
    expect(withOverrides(study, { seeds: [9] }).seeds).toEqual([9]);
    expect(() => withOverrides(study, { epochs: 0 })).toThrow(
      'study plan-test: budget.epochs: must be a positive integer, got 0',
    );
    expect(() => withOverrides(study, { seeds: [1, 1] })).toThrow(
      'study plan-test: seeds[1]: seed 1 is listed twice',
    );
  });

  it('lists an image folder for its classes: an inline spec must have as many', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lenet-plan-folder-'));
    try {
      for (const c of ['a', 'b']) {
        await mkdir(join(dir, c));
        await writeFile(join(dir, c, 'x.jpg'), '');
      }
      const spec = getPreset('lenet5', { input: [32, 32, 3] }).spec;
      const folderStudy = validateStudy({
        ...study,
        dataset: 'folder',
        data: dir,
        arms: [
          { name: 'a', model: 'lenet5' },
          { name: 'b', model: spec },
        ],
      });
      await expect(planJobs(folderStudy)).rejects.toThrow(
        'study plan-test: arms[1].model: the spec has 10 classes, the folder data 2',
      );
      const [job] = await planJobs(
        { ...folderStudy, arms: [folderStudy.arms[0]], comparisons: [] },
        { seeds: [0] },
      );
      expect([job.spec.input, job.spec.classes]).toEqual([[28, 28, 3], 2]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('records the package version of @lenet/study as the code version', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    expect(studyCodeVersion()).toBe(`@lenet/study@${pkg.version}`);
  });
});
