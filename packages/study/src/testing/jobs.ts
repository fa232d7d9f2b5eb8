// Test helper: tiny but real study jobs (LeNet-5 on the first images of the bundled MNIST, one
// epoch, wasm-sized), so that queue tests train for real in about a second a job.
import { getPreset } from '@lenet/models';
import { DEFAULT_RECIPE } from '@lenet/train/recipes';
import { jobId } from '../job.js';
import { STUDY_JOB_TYPE, STUDY_JOB_VERSION, type StudyJob } from '../types.js';

/** One job per seed of arm `arm`, training on `trainLimit` images and testing on 500. */
export function tinyJobs(seeds: number[], options: { arm?: string; trainLimit?: number } = {}): StudyJob[] {
  return seeds.map((seed) => {
    const content: Omit<StudyJob, 'id'> = {
      type: STUDY_JOB_TYPE,
      version: STUDY_JOB_VERSION,
      study: 'queue-test',
      arm: options.arm ?? 'lenet5',
      seed,
      spec: getPreset('lenet5').spec,
      recipe: { ...DEFAULT_RECIPE, epochs: 1, seed, validationFraction: 0 },
      data: { dataset: 'mnist', trainLimit: options.trainLimit ?? 1000, testLimit: 500 },
      code: 'queue-test',
    };
    return { ...content, id: jobId(content) };
  });
}
