// A study job as it travels: its id (a content hash), and the one parser every worker runs on a
// payload before touching it (a queue is an input like any other).
import { createHash } from 'node:crypto';
import { isDatasetName } from '@lenet/datasets';
import { validateSpec } from '@lenet/models';
import { validateRecipe } from '@lenet/train/recipes';
import { StudyError } from './errors.js';
import { isObject } from './result.js';
import { STUDY_JOB_TYPE, STUDY_JOB_VERSION, type StudyJob } from './types.js';

/** Largest job payload a worker parses, in bytes of JSON. Specs are small; this is generous. */
export const MAX_JOB_BYTES = 1 << 20;

/** JSON with object keys sorted at every level: the same content always gives the same text. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : v,
  );
}

/**
 * The id of a job: SHA-256 (hex) of everything that decides its result — study, arm, seed, spec,
 * recipe, data and code version — so that a finished job is recognised wherever it ran.
 */
export function jobId(job: Omit<StudyJob, 'id'>): string {
  const { id: _ignored, ...content } = job as StudyJob;
  return createHash('sha256').update(canonicalJson(content)).digest('hex');
}

function invalid(message: string, cause?: unknown): never {
  throw new StudyError('JOB_INVALID', `invalid study job: ${message}`, cause === undefined ? {} : { cause });
}

function optionalPositiveInt(field: string, v: unknown): void {
  if (v !== undefined && !(Number.isSafeInteger(v) && (v as number) > 0))
    invalid(`${field} must be a positive integer, got ${JSON.stringify(v)}`);
}

/**
 * Checks that `payload` (parsed JSON, or its text) is a complete {@link StudyJob} of the type and
 * version this code runs, with a valid spec and recipe and an id that matches its content; throws a
 * {@link StudyError} `JOB_INVALID` saying what is wrong otherwise.
 */
export function parseJob(payload: unknown): StudyJob {
  let value = payload;
  if (typeof payload === 'string') {
    if (payload.length > MAX_JOB_BYTES)
      invalid(`payload of ${payload.length} bytes is over ${MAX_JOB_BYTES}`);
    try {
      value = JSON.parse(payload);
    } catch (e) {
      invalid(`not JSON (${(e as Error).message})`, e);
    }
  }
  if (!isObject(value)) invalid(`expected an object, got ${value === null ? 'null' : typeof value}`);
  if (value.type !== STUDY_JOB_TYPE)
    invalid(`unknown job type ${JSON.stringify(value.type)}; this worker runs '${STUDY_JOB_TYPE}' only`);
  if (value.version !== STUDY_JOB_VERSION)
    invalid(
      `job format version ${JSON.stringify(value.version)}; this worker reads version ${STUDY_JOB_VERSION}`,
    );
  for (const field of ['id', 'study', 'arm', 'code'] as const) {
    if (typeof value[field] !== 'string' || value[field] === '')
      invalid(`${field} must be a non-empty string, got ${JSON.stringify(value[field])}`);
  }
  if (!Number.isSafeInteger(value.seed) || (value.seed as number) < 0)
    invalid(`seed must be a non-negative integer, got ${JSON.stringify(value.seed)}`);
  try {
    validateSpec(value.spec, `job ${String(value.id)} spec`);
    validateRecipe(value.recipe);
  } catch (e) {
    invalid((e as Error).message, e);
  }
  if ((value.recipe as { seed: number }).seed !== value.seed)
    invalid(
      `recipe.seed ${(value.recipe as { seed: number }).seed} differs from the job's seed ${value.seed}`,
    );
  const data = value.data;
  if (!isObject(data)) invalid('data must be an object');
  if (typeof data.dataset !== 'string' || !isDatasetName(data.dataset))
    invalid(`data.dataset ${JSON.stringify(data.dataset)} is not a known data set`);
  if (data.dir !== undefined && typeof data.dir !== 'string') invalid('data.dir must be a string');
  optionalPositiveInt('data.trainLimit', data.trainLimit);
  optionalPositiveInt('data.testLimit', data.testLimit);
  const known = new Set(['type', 'version', 'id', 'study', 'arm', 'seed', 'spec', 'recipe', 'data', 'code']);
  for (const key of Object.keys(value)) if (!known.has(key)) invalid(`unknown field '${key}'`);
  const job = value as unknown as StudyJob;
  const expected = jobId(job);
  if (job.id !== expected) invalid(`id ${job.id} does not match its content (expected ${expected})`);
  return job;
}
