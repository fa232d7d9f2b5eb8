// What crosses the queue back from a worker: a finished job's JobResult is its BullMQ return value;
// a failed attempt leaves its failed JobResult (or, for a payload no result can be made of, the
// error) as the job's progress, so that the coordinator reports the worker's reason, machine and
// backend. Both come out of Redis, so the coordinator checks them like any other input.

import { isObject } from '../result.js';
import type { JobResult, MachineInfo, StudyJob } from '../types.js';

/** The error part of a failed {@link JobResult}. */
export type JobFailure = NonNullable<JobResult['error']>;

/** A failed attempt's record, kept as the BullMQ job's progress. */
export type FailedAttempt = { result: JobResult } | { error: JobFailure };

/** The machine of a result the coordinator had to make up (no worker reported one). */
const UNKNOWN_MACHINE: MachineInfo = {
  hostname: 'unknown',
  platform: 'unknown',
  cpuModel: 'unknown',
  cpus: 0,
  memoryGiB: 0,
  node: 'unknown',
};

/** Why `value` is not a result of `job` as a worker returns it, or undefined when it is one. */
export function resultProblem(value: unknown, job: StudyJob): string | undefined {
  if (!isObject(value)) return `expected an object, got ${value === null ? 'null' : typeof value}`;
  for (const field of ['id', 'study', 'arm', 'seed'] as const)
    if (value[field] !== job[field])
      return `${field} ${JSON.stringify(value[field])} differs from the job's ${JSON.stringify(job[field])}`;
  if (value.status !== 'done' && value.status !== 'failed')
    return `status ${JSON.stringify(value.status)} is neither 'done' nor 'failed'`;
  if (value.status === 'done') {
    for (const field of ['testAccuracy', 'testLoss'] as const)
      if (typeof value[field] !== 'number' || !Number.isFinite(value[field]))
        return `${field} ${JSON.stringify(value[field])} is not a finite number`;
  } else if (!isObject(value.error) || typeof value.error.message !== 'string') {
    return 'a failed result without an error message';
  }
  if (!Array.isArray(value.history)) return 'history is not a list';
  if (!isObject(value.machine)) return 'machine is not an object';
  for (const field of ['backend', 'worker', 'finishedAt'] as const)
    if (typeof value[field] !== 'string') return `${field} is not a string`;
  if (typeof value.wallSeconds !== 'number') return 'wallSeconds is not a number';
  return undefined;
}

/** A failed result of `job` that no worker produced (ran out of attempts, stalled, a bad return value). */
export function failedResult(
  job: StudyJob,
  error: JobFailure,
  details: { worker?: string; finishedOn?: number } = {},
): JobResult {
  return {
    id: job.id,
    study: job.study,
    arm: job.arm,
    seed: job.seed,
    status: 'failed',
    error,
    history: [],
    wallSeconds: 0,
    machine: UNKNOWN_MACHINE,
    backend: 'unknown',
    worker: details.worker ?? 'unknown',
    finishedAt: new Date(details.finishedOn ?? Date.now()).toISOString(),
  };
}

/** The failed attempt recorded in a job's progress, if it is one for `job`. */
export function failedAttempt(progress: unknown, job: StudyJob): FailedAttempt | undefined {
  if (!isObject(progress)) return undefined;
  if ('result' in progress)
    return resultProblem(progress.result, job) === undefined
      ? { result: progress.result as JobResult }
      : undefined;
  const error = progress.error;
  if (isObject(error) && typeof error.code === 'string' && typeof error.message === 'string')
    return {
      error: { code: error.code, message: error.message, kind: error.kind === 'input' ? 'input' : 'failure' },
    };
  return undefined;
}
