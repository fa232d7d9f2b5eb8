// Trains and evaluates one study job in this process. Both the local pool's child processes and
// the queue worker's child process call this, so a job gives the same numbers wherever it runs
// (same backend, same seed: `fit` is deterministic).
import { isLenetError } from '@lenet/common';
import { StudyError } from './errors.js';
import { machineInfo } from './machine.js';
import type { JobEpoch, JobResult, StudyJob } from './types.js';

/** Options of {@link runJob}. */
export interface RunJobOptions {
  /** Who runs it, recorded in the result (`local-1`, a queue worker's name). */
  worker: string;
  /** The backend the caller activated (`useBackend`), recorded in the result. */
  backend: string;
  /** Stops training after the current batch (the job then fails with an interruption). */
  signal?: AbortSignal;
}

/**
 * Trains `job` from its seed and evaluates it on the test set. Never throws for a failing job:
 * the error's code, message and kind (`input` for bad data or spec, which retrying cannot mend)
 * are in the result, `status: 'failed'`.
 */
export async function runJob(job: StudyJob, options: RunJobOptions): Promise<JobResult> {
  const started = performance.now();
  const base = {
    id: job.id,
    study: job.study,
    arm: job.arm,
    seed: job.seed,
    machine: machineInfo(),
    backend: options.backend,
    worker: options.worker,
  };
  const history: JobEpoch[] = [];
  try {
    const { testAccuracy, testLoss } = await trainAndEvaluate(job, history, options.signal);
    return {
      ...base,
      status: 'done',
      history,
      testAccuracy,
      testLoss,
      wallSeconds: seconds(started),
      finishedAt: new Date().toISOString(),
    };
  } catch (e) {
    return {
      ...base,
      status: 'failed',
      error: describeError(e),
      history,
      wallSeconds: seconds(started),
      finishedAt: new Date().toISOString(),
    };
  }
}

function seconds(since: number): number {
  return Math.round((performance.now() - since) / 10) / 100;
}

function describeError(e: unknown): NonNullable<JobResult['error']> {
  if (isLenetError(e)) return { code: e.code, message: e.message, kind: e.kind };
  const err = e instanceof Error ? e : new Error(String(e));
  return { code: 'JOB_FAILED', message: err.message, kind: 'failure' };
}

async function trainAndEvaluate(
  job: StudyJob,
  history: JobEpoch[],
  signal: AbortSignal | undefined,
): Promise<{ testAccuracy: number; testLoss: number }> {
  const { head, loadDataset } = await import('@lenet/datasets');
  const { buildModel } = await import('@lenet/models/tf');
  const train = await import('@lenet/train');
  const { dataset, dir, trainLimit, testLimit } = job.data;
  const [height, width, channels] = job.spec.input;
  const load = (split: 'train' | 'test') =>
    dataset === 'folder'
      ? loadDataset('folder', {
          dir: dir ?? '',
          size: [height, width],
          channels: channels === 1 ? 1 : 3,
          split: { part: split },
        })
      : loadDataset(dataset, { split, ...(dir ? { dir } : {}) } as never);
  const allTrain = await load('train');
  const trainSet = trainLimit ? head(allTrain, trainLimit) : allTrain;
  const allTest = await load('test');
  const testSet = testLimit ? head(allTest, testLimit) : allTest;

  const model = buildModel(job.spec, { seed: job.recipe.seed });
  try {
    const options = train.recipeToFitOptions(job.recipe, {
      train: trainSet,
      spec: job.spec,
      ...(signal ? { signal } : {}),
      callbacks: [
        {
          onEpochEnd(_epoch, logs) {
            history.push({
              epoch: logs.epoch + 1,
              loss: logs.loss,
              accuracy: logs.accuracy,
              ...(logs.valLoss === undefined ? {} : { valLoss: logs.valLoss }),
              ...(logs.valAccuracy === undefined ? {} : { valAccuracy: logs.valAccuracy }),
              seconds: logs.epochSeconds,
            });
          },
        },
      ],
    });
    await train.fit(model, trainSet, options);
    if (signal?.aborted)
      throw new StudyError('JOB_INTERRUPTED', `job ${job.id} was stopped before it finished`);
    const result = await train.evaluate(model, testSet, { batchSize: 256, normalize: options.normalize });
    return { testAccuracy: result.accuracy, testLoss: result.loss };
  } finally {
    model.dispose();
  }
}
