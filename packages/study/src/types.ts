// The contract between a study's parts: what a study file says, what one job is, what one job
// returns. Plain JSON throughout: jobs and results cross process and machine boundaries.
import type { DatasetName } from '@lenet/datasets';
import type { ModelSpec } from '@lenet/models';
import type { Recipe } from '@lenet/train/recipes';

/** One arm of a study: a model (preset name or inline spec) and recipe overrides. */
export interface StudyArm {
  /** Short name, unique in the study (`[a-z0-9-]+`), used in comparisons and reports. */
  name: string;
  /** What this arm is, in words (shown in the report). */
  description?: string;
  /** A preset name (`lenet models`) or an inline model spec. */
  model: string | ModelSpec;
  /** Recipe fields that differ from the study's recipe for this arm (never `seed` or `model`). */
  recipe?: Partial<Omit<Recipe, 'seed' | 'model' | 'dataset'>>;
}

/** A comparison to report: arm `a` against arm `b`, paired by seed. */
export interface StudyComparison {
  a: string;
  b: string;
  /** The question this comparison answers, in words. */
  question?: string;
}

/** How much training each job gets. */
export interface StudyBudget {
  /** Epochs per job. */
  epochs: number;
  /** Train on the first this many training images (stratification is the data set's order); unset: all. */
  trainLimit?: number;
  /** Evaluate on the first this many test images; unset: the whole test set. */
  testLimit?: number;
}

/** A study file: the reports' kind of question, answered with seeds. */
export interface StudyDefinition {
  /** Name (`[a-z0-9-]+`), e.g. `report-002-batchnorm`. */
  name: string;
  /** What the study asks, in words. */
  description: string;
  /** For the built-in studies: the reference report and the question it asks. */
  answers?: { report: string; question: string };
  /** Data set name, as `loadDataset` takes it. */
  dataset: DatasetName;
  /** Data directory, for data sets that are not bundled (cifar10, folder…). */
  data?: string;
  /**
   * Image folders only: the size `[height, width, channels]` the images are resized to and the
   * presets adapted to. Unset: each preset's own height and width, with 3 channels.
   */
  input?: [number, number, number];
  /** Base recipe: a name in `RECIPES` or a partial recipe over the `default` one. */
  recipe: string | Partial<Omit<Recipe, 'seed' | 'model' | 'dataset'>>;
  budget: StudyBudget;
  /** The seeds every arm is trained with (the same seeds for every arm: comparisons pair by seed). */
  seeds: number[];
  arms: StudyArm[];
  comparisons: StudyComparison[];
}

/** The one job type a study worker runs. Workers refuse any other. */
export const STUDY_JOB_TYPE = 'lenet.study.train';

/** Version of the {@link StudyJob} payload format. */
export const STUDY_JOB_VERSION = 1;

/** One arm × seed: everything a worker on any machine needs to train and evaluate it. */
export interface StudyJob {
  type: typeof STUDY_JOB_TYPE;
  version: typeof STUDY_JOB_VERSION;
  /** Content hash of arm, seed, spec, recipe, data and code version (see `jobId`). */
  id: string;
  study: string;
  arm: string;
  seed: number;
  /** The resolved model spec (presets resolved on the coordinator). */
  spec: ModelSpec;
  /** The complete recipe (budget epochs and the seed applied). */
  recipe: Recipe;
  data: { dataset: DatasetName; dir?: string; trainLimit?: number; testLimit?: number };
  /** `@lenet/study` version that planned the job: results of other code versions are not reused. */
  code: string;
}

/** One epoch of a job, as the report plots it (epochs count from 1). */
export interface JobEpoch {
  epoch: number;
  loss: number;
  accuracy: number;
  valLoss?: number;
  valAccuracy?: number;
  seconds: number;
}

/** The machine a job ran on (no user names, no paths). */
export interface MachineInfo {
  hostname: string;
  platform: string;
  cpuModel: string;
  cpus: number;
  memoryGiB: number;
  node: string;
}

/** What one job produced: its history and test figures, or why it failed. */
export interface JobResult {
  id: string;
  study: string;
  arm: string;
  seed: number;
  status: 'done' | 'failed';
  /** For `failed`: the error's code and message (an input error fails once, without retries). */
  error?: { code: string; message: string; kind: 'input' | 'failure' };
  history: JobEpoch[];
  testAccuracy?: number;
  testLoss?: number;
  /** Wall time of training and evaluation, data loading included. */
  wallSeconds: number;
  machine: MachineInfo;
  /** TF.js backend the job trained on (`wasm`, `cpu`, `tensorflow`…), with its thread count if known. */
  backend: string;
  /** Which worker ran it (`local-1`, or the queue worker's name). */
  worker: string;
  /** ISO time the job finished. */
  finishedAt: string;
}

/** Where a study's finished job results are kept, by job id (a run directory, see `openResultStore`). */
export interface ResultStore {
  /** The stored result of job `id`, if it finished before. */
  get(id: string): Promise<JobResult | undefined>;
  /** Keeps a result (atomically: a killed writer leaves the old state, never half a file). */
  put(result: JobResult): Promise<void>;
}

/** What every way of running a study's jobs (local pool, queue) takes besides the jobs. */
export interface ExecuteOptions {
  /** Finished results are read from it (and not run again) and new ones written to it. */
  store: ResultStore;
  /** Called after each job result arrives, with how many of the jobs are done. */
  onResult?(result: JobResult, done: number, total: number): void;
  /** Stops taking new jobs; jobs in progress finish or are abandoned (resumable either way). */
  signal?: AbortSignal;
}
