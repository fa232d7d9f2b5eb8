// A job result read back (from a store file, or from another machine): checked before it is used,
// since a result decides whether a job is trained again and what a report says.
import { describeValue } from '@lenet/common';
import type { JobResult } from './types.js';

/** A job id: the hex SHA-256 `jobId` gives. Also what makes an id safe as a file name. */
export const JOB_ID = /^[0-9a-f]{64}$/;

/** A JSON object (not null, not an array): what every payload and result check starts from. */
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isString = (v: unknown): v is string => typeof v === 'string';

/** Why `value` is not a {@link JobResult} (of job `id`, when given), or undefined when it is one. */
export function jobResultProblem(value: unknown, id?: string): string | undefined {
  if (!isObject(value)) return `not a job result: expected an object, got ${describeValue(value)}`;
  if (!isString(value.id) || !JOB_ID.test(value.id)) return `not a job result: id ${describeValue(value.id)}`;
  if (id !== undefined && value.id !== id) return `holds the result of job ${value.id}, not of ${id}`;
  for (const field of ['study', 'arm', 'backend', 'worker', 'finishedAt'] as const)
    if (!isString(value[field])) return `${field} must be a string, got ${describeValue(value[field])}`;
  if (!Number.isSafeInteger(value.seed) || (value.seed as number) < 0)
    return `seed must be a non-negative integer, got ${describeValue(value.seed)}`;
  if (!isNumber(value.wallSeconds))
    return `wallSeconds must be a number, got ${describeValue(value.wallSeconds)}`;
  if (!isObject(value.machine)) return 'machine must be an object';
  if (!Array.isArray(value.history)) return 'history must be an array';
  for (const [i, e] of value.history.entries()) {
    if (!isObject(e) || !['epoch', 'loss', 'accuracy', 'seconds'].every((k) => isNumber(e[k])))
      return `history[${i}] must be an epoch { epoch, loss, accuracy, seconds }`;
  }
  if (value.status === 'done') {
    if (!isNumber(value.testAccuracy) || !isNumber(value.testLoss))
      return 'a done result needs numbers testAccuracy and testLoss';
  } else if (value.status === 'failed') {
    const e = value.error;
    if (
      !isObject(e) ||
      !isString(e.code) ||
      !isString(e.message) ||
      (e.kind !== 'input' && e.kind !== 'failure')
    )
      return 'a failed result needs error { code, message, kind }';
  } else return `status must be 'done' or 'failed', got ${describeValue(value.status)}`;
  return undefined;
}

/**
 * Whether a result stands and its job is not run again: done, or failed for a reason in its
 * input (bad spec or data: a retry fails the same way). A job that failed otherwise (its process
 * died, it was interrupted) is retried by the next run.
 */
export function isFinalResult(result: JobResult): boolean {
  return result.status === 'done' || result.error?.kind === 'input';
}
