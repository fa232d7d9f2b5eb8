// A study as jobs: every arm × seed, each with everything a worker on any machine needs (the
// resolved spec, the complete recipe, the data) and an id that is a hash of all of it.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { imageFolderClasses } from '@lenet/datasets';
import { DEFAULT_RECIPE, getRecipe, type Recipe, validateRecipe } from '@lenet/train/recipes';
import { ArmModelProblem, armSpec, dataShape, NEEDS_DATA_DIR } from './arm-spec.js';
import { validateStudy } from './definition.js';
import { StudyError } from './errors.js';
import { jobId } from './job.js';
import { STUDY_JOB_TYPE, STUDY_JOB_VERSION, type StudyDefinition, type StudyJob } from './types.js';

/** What a run may change of a study without editing it (the CLI's `--seeds`, `--epochs`…). */
export interface StudyOverrides {
  /** The seeds of every arm, instead of the study's. */
  seeds?: number[];
  /** Epochs per job, instead of `budget.epochs`. */
  epochs?: number;
  /** Train on the first this many images, instead of `budget.trainLimit`. */
  trainLimit?: number;
  /** Evaluate on the first this many test images, instead of `budget.testLimit`. */
  testLimit?: number;
  /** The data directory, instead of the study's `data`. */
  data?: string;
}

/** The study with `overrides` applied, validated again (so an override is checked like the file). */
export function withOverrides(study: StudyDefinition, overrides: StudyOverrides = {}): StudyDefinition {
  const { seeds, epochs, trainLimit, testLimit, data } = overrides;
  return validateStudy(
    {
      ...study,
      ...(seeds === undefined ? {} : { seeds }),
      ...(data === undefined ? {} : { data }),
      budget: {
        ...study.budget,
        ...(epochs === undefined ? {} : { epochs }),
        ...(trainLimit === undefined ? {} : { trainLimit }),
        ...(testLimit === undefined ? {} : { testLimit }),
      },
    },
    `study ${study.name}`,
  );
}

let version: string | undefined;

/**
 * The version of `@lenet/study` that is running: jobs record it, so results of other code are not
 * reused. Read from the package.json one folder above this module, which holds from `src`, from
 * `dist` and in an installed tarball alike.
 */
export function studyCodeVersion(): string {
  if (version === undefined) {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      name?: string;
      version?: string;
    };
    if (pkg.name !== '@lenet/study' || typeof pkg.version !== 'string')
      throw new StudyError(
        'STUDY_FAILED',
        `the package.json beside @lenet/study is not its own (${pkg.name})`,
      );
    version = `${pkg.name}@${pkg.version}`;
  }
  return version;
}

function baseRecipe(study: StudyDefinition): Recipe {
  return typeof study.recipe === 'string' ? getRecipe(study.recipe) : { ...DEFAULT_RECIPE, ...study.recipe };
}

/**
 * Plans the jobs of `study`: one per seed × arm, in seed order and arm order within a seed (so a
 * study stopped halfway has whole pairs to compare). Each job has its preset resolved and adapted
 * to the data (an image folder's classes are listed here), the study's recipe with the arm's
 * overrides, the budget's epochs and the seed, and the id `jobId` gives it: planning the same study
 * with the same code twice gives the same ids.
 * @throws StudyError `STUDY_INVALID` for an override that is not valid, or a data set that needs a
 *   directory and has none; a `DatasetError` for an image folder that cannot be listed.
 */
export async function planJobs(study: StudyDefinition, overrides: StudyOverrides = {}): Promise<StudyJob[]> {
  const s = withOverrides(study, overrides);
  if (NEEDS_DATA_DIR.includes(s.dataset) && s.data === undefined)
    throw new StudyError(
      'STUDY_INVALID',
      `study ${s.name}: the ${s.dataset} data set is not bundled: give its directory (the study's "data" field, or --data <dir>${s.dataset === 'folder' ? ': one sub-folder per class' : ''})`,
    );
  const dir = s.data === undefined ? undefined : resolve(s.data);
  const classes = s.dataset === 'folder' ? (await imageFolderClasses(dir as string)).length : undefined;
  const shape = { ...dataShape(s.dataset, s.input), ...(classes === undefined ? {} : { classes }) };
  const base = baseRecipe(s);
  const code = studyCodeVersion();
  const arms = s.arms.map((arm, i) => {
    let spec: StudyJob['spec'];
    try {
      spec = armSpec(arm.model, shape);
    } catch (e) {
      if (e instanceof ArmModelProblem)
        throw new StudyError('STUDY_INVALID', `study ${s.name}: arms[${i}].model: ${e.message}`, {
          cause: e,
        });
      throw e;
    }
    const { description: _shownOnly, ...recipe } = {
      ...base,
      ...arm.recipe,
      model: typeof arm.model === 'string' ? arm.model : spec.name,
      dataset: s.dataset,
      epochs: s.budget.epochs,
    };
    return { arm, spec, recipe };
  });
  const data: StudyJob['data'] = {
    dataset: s.dataset,
    ...(dir === undefined ? {} : { dir }),
    ...(s.budget.trainLimit === undefined ? {} : { trainLimit: s.budget.trainLimit }),
    ...(s.budget.testLimit === undefined ? {} : { testLimit: s.budget.testLimit }),
  };
  const jobs: StudyJob[] = [];
  for (const seed of s.seeds) {
    for (const { arm, spec, recipe } of arms) {
      const content: Omit<StudyJob, 'id'> = {
        type: STUDY_JOB_TYPE,
        version: STUDY_JOB_VERSION,
        study: s.name,
        arm: arm.name,
        seed,
        spec: structuredClone(spec),
        recipe: validateRecipe({ ...structuredClone(recipe), seed }),
        data: { ...data },
        code,
      };
      jobs.push({ ...content, id: jobId(content) } as StudyJob);
    }
  }
  return jobs;
}
