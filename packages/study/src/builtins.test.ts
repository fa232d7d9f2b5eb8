import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getPreset } from '@lenet/models';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getStudy, listStudies } from './builtins.js';
import { validateStudy } from './definition.js';
import { parseJob } from './job.js';
import { planJobs } from './plan.js';

/** Arms of every built-in study: the question each answers must stay put. */
const EXPECTED: Record<string, { report: string; arms: string[]; folder?: true }> = {
  'report-000-dropout': { report: '000', arms: ['dropout', 'no-dropout'] },
  'report-002-batchnorm': { report: '002', arms: ['bn', 'no-bn'] },
  'report-002-conv-depth': { report: '002', arms: ['3conv-3fc', '2conv-3fc'] },
  'report-002-fc-depth': { report: '002', arms: ['2conv-3fc', '2conv-2fc'] },
  'report-004-batchnorm': { report: '004', arms: ['baseline', 'bn'] },
  'report-004-depth': { report: '004', arms: ['baseline', 'shallow', 'deep'] },
  'report-001-lenet50-vs-lenet5': { report: '001', arms: ['lenet50', 'lenet5'], folder: true },
  'report-001-learning-rate': { report: '001', arms: ['lr-4e-3', 'lr-4e-4'], folder: true },
  'report-003-lenet5-vs-mlp': { report: '003', arms: ['lenet5', 'mlp2'], folder: true },
};

let folder: string;
beforeAll(async () => {
  // Listing an image folder decodes nothing: empty files with an image extension are enough.
  folder = await mkdtemp(join(tmpdir(), 'lenet-study-folder-'));
  for (const c of ['ant', 'bee', 'cat']) {
    await mkdir(join(folder, c));
    await writeFile(join(folder, c, '1.png'), '');
  }
});
afterAll(() => rm(folder, { recursive: true, force: true }));

describe('built-in studies', () => {
  it('cover every comparative question of the reports, each naming its report, question and comparisons', () => {
    const studies = listStudies();
    expect(studies.map((s) => s.name)).toEqual(Object.keys(EXPECTED));
    for (const s of studies) {
      const e = EXPECTED[s.name];
      expect(validateStudy(s, s.name)).toEqual(s);
      expect(s.answers?.report).toBe(e.report);
      expect(s.answers?.question.length).toBeGreaterThan(20);
      expect(s.arms.map((a) => a.name)).toEqual(e.arms);
      expect(s.dataset).toBe(e.folder ? 'folder' : 'mnist');
      expect(s.seeds).toEqual([0, 1, 2, 3, 4]);
      expect(s.comparisons.length).toBeGreaterThan(0);
      for (const c of s.comparisons) expect(c.question?.endsWith('?')).toBe(true);
    }
  });

  it('plan arms x seeds jobs with unique ids, the same on every planning, that a worker accepts', async () => {
    const all = new Set<string>();
    for (const s of listStudies()) {
      const data = EXPECTED[s.name].folder ? { data: folder } : {};
      const jobs = await planJobs(s, data);
      expect(jobs).toHaveLength(s.arms.length * 5);
      for (const job of jobs) {
        expect(parseJob(JSON.parse(JSON.stringify(job)))).toEqual(job);
        all.add(job.id);
      }
      expect((await planJobs(s, data)).map((j) => j.id)).toEqual(jobs.map((j) => j.id));
    }
    expect(all.size).toBe(listStudies().reduce((n, s) => n + s.arms.length * 5, 0));
  });

  it('report-000-dropout compares torch-bn with the same net without its Dropout layers', async () => {
    const [withDropout, without] = await planJobs(getStudy('report-000-dropout'), { seeds: [0] });
    const torchBn = getPreset('torch-bn').spec;
    expect(withDropout.spec).toEqual(torchBn);
    expect(without.spec.name).toBe('torch-bn-no-dropout');
    expect(without.spec.layers).toEqual(torchBn.layers.filter((l) => l.type !== 'dropout'));
    expect(torchBn.layers.length - without.spec.layers.length).toBe(3);
  });

  it('MNIST studies: a small budget on the whole test set, the lenet train recipe without validation split', async () => {
    const jobs = await planJobs(getStudy('report-002-batchnorm'));
    expect(jobs.map((j) => `${j.arm}/${j.seed}`)).toEqual([
      'bn/0',
      'no-bn/0',
      'bn/1',
      'no-bn/1',
      'bn/2',
      'no-bn/2',
      'bn/3',
      'no-bn/3',
      'bn/4',
      'no-bn/4',
    ]);
    expect(jobs[0].data).toEqual({ dataset: 'mnist' });
    expect(jobs[3].recipe).toMatchObject({
      model: 'torch-nobn',
      epochs: 1,
      seed: 1,
      validationFraction: 0,
      optimizer: 'adam',
      learningRate: 1e-3,
      schedule: 'constant',
      labelSmoothing: 0,
      normalize: 'unit',
    });
  });

  it('image-folder studies need the folder, and adapt the presets to 256x256x3 and its classes', async () => {
    await expect(planJobs(getStudy('report-003-lenet5-vs-mlp'))).rejects.toThrow(
      `study report-003-lenet5-vs-mlp: the folder data set is not bundled: give its directory (the study's "data" field, or --data <dir>: one sub-folder per class)`,
    );
    const jobs = await planJobs(getStudy('report-001-learning-rate'), { data: folder, seeds: [7] });
    expect(jobs.map((j) => [j.arm, j.seed, j.spec.input, j.spec.classes, j.recipe.learningRate])).toEqual([
      ['lr-4e-3', 7, [256, 256, 3], 3, 4e-3],
      ['lr-4e-4', 7, [256, 256, 3], 3, 4e-4],
    ]);
    expect(jobs[0].data).toEqual({ dataset: 'folder', dir: folder });
  });

  it('getStudy returns a copy, and names the built-in studies for an unknown one', () => {
    const s = getStudy('report-004-depth');
    s.seeds.push(9);
    expect(getStudy('report-004-depth').seeds).toEqual([0, 1, 2, 3, 4]);
    expect(() => getStudy('report-005')).toThrow(
      "unknown study 'report-005'; built-in studies: report-000-dropout, report-002-batchnorm,",
    );
    let error: unknown;
    try {
      getStudy('x');
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: 'STUDY_UNKNOWN', kind: 'input' });
  });
});
