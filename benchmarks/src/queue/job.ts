// A benchmark run split into jobs, one per backend column, as they cross the queue: the payload
// (a plan part, by names only), its content-hash id, the queue of its backend, and the one parser a
// worker runs on every payload before touching it (a queue is an input like any other).
import { createHash } from 'node:crypto';
import { describeValue } from '@lenet/common';
import { MAX_RUN_ID, planFromLists, TASKS, type Task } from '../args.js';
import { BenchUsageError } from '../errors.js';
import type { RunPlan } from '../run/context.js';
import { ALL_BACKENDS, type BenchBackend, FIT_BACKENDS, ORT_BACKENDS, TFJS_BACKENDS } from '../types.js';

/** The BullMQ job name (and payload `type`) of a benchmark job; workers refuse any other. */
export const BENCH_JOB_TYPE = 'lenet.bench.cells';
/** Payload format version; a worker refuses another. */
export const BENCH_JOB_VERSION = 1;
/** Largest payload a worker parses, in bytes of JSON (a plan part is well under 2 kB). */
export const MAX_BENCH_JOB_BYTES = 64 * 1024;

/** The BullMQ queue of one backend's jobs (BullMQ forbids ':' in queue names). */
export function benchQueueName(backend: BenchBackend): string {
  return `lenet-bench-${backend}`;
}

/** What a job runs: a {@link RunPlan} restricted to one backend, by names, so that it travels as JSON. */
export interface PlanPart {
  profile: 'quick' | 'full';
  models: string[];
  /** Exactly the job's backend. */
  backends: [BenchBackend];
  batchSizes?: number[];
  tasks: Task[];
}

/** A benchmark job as queued: its run, its backend and the plan part a worker runs. */
export interface BenchJob {
  type: typeof BENCH_JOB_TYPE;
  version: typeof BENCH_JOB_VERSION;
  /** The coordinator's run: the same run id and plan give the same job ids (resume). */
  runId: string;
  backend: BenchBackend;
  plan: PlanPart;
}

/**
 * The BullMQ id of a job: `bench-` and 32 hex digits of SHA-256 over the run id and everything
 * the job measures, so that the same command with the same `--run-id` finds its jobs again.
 */
export function benchJobId(job: BenchJob): string {
  const p = job.plan;
  // An array, not an object: the text does not depend on key order.
  const content = [
    job.type,
    job.version,
    job.runId,
    job.backend,
    p.profile,
    p.models,
    p.backends,
    p.batchSizes ?? null,
    p.tasks,
  ];
  return `bench-${createHash('sha256').update(JSON.stringify(content)).digest('hex').slice(0, 32)}`;
}

const TRAIN_ONLY: readonly string[] = Object.keys(FIT_BACKENDS);
const INFER_ONLY: readonly string[] = ORT_BACKENDS;

/** The cell tasks a backend has: onnxruntime infers only, the `fit` columns train only. */
function cellTasks(backend: BenchBackend, tasks: readonly Task[]): Task[] {
  return tasks.filter(
    (t) =>
      (t === 'train' && !INFER_ONLY.includes(backend)) || (t === 'infer' && !TRAIN_ONLY.includes(backend)),
  );
}

/**
 * The backend whose job also runs the machine-wide tasks `accuracy` and `datasets`: wasm when the
 * plan has it (every machine does), else the plan's first TensorFlow.js backend (accuracy trains
 * on one), else its first backend. `onnx-threads` goes with ort-cpu when the plan has it (the
 * suite reuses that column's cells), else with the same job.
 */
export function machineTaskBackends(backends: readonly BenchBackend[]): {
  accuracy: BenchBackend | undefined;
  onnxThreads: BenchBackend | undefined;
} {
  const ordered = ALL_BACKENDS.filter((b) => backends.includes(b));
  const host =
    (ordered.includes('wasm') ? 'wasm' : undefined) ??
    ordered.find((b) => (TFJS_BACKENDS as readonly string[]).includes(b)) ??
    ordered[0];
  return { accuracy: host, onnxThreads: ordered.includes('ort-cpu') ? 'ort-cpu' : host };
}

/**
 * Splits a plan into one job per backend column (in table order), each a plan restricted to that
 * backend: its train/infer cells, and on one job each the machine-wide tasks (see
 * {@link machineTaskBackends}). A backend with nothing to run (ort-cpu when only training is
 * asked) gets no job.
 */
export function splitPlan(plan: RunPlan, runId: string): BenchJob[] {
  const hosts = machineTaskBackends(plan.backends);
  const jobs: BenchJob[] = [];
  for (const backend of ALL_BACKENDS.filter((b) => plan.backends.includes(b))) {
    const mine = new Set<Task>(cellTasks(backend, plan.tasks));
    if (backend === hosts.accuracy) for (const t of ['accuracy', 'datasets'] as const) mine.add(t);
    if (backend === hosts.onnxThreads) mine.add('onnx-threads');
    const tasks = TASKS.filter((t) => mine.has(t) && plan.tasks.includes(t));
    if (tasks.length === 0) continue;
    jobs.push({
      type: BENCH_JOB_TYPE,
      version: BENCH_JOB_VERSION,
      runId,
      backend,
      plan: {
        profile: plan.profile.name,
        models: [...plan.models],
        backends: [backend],
        ...(plan.batchSizes !== undefined ? { batchSizes: [...plan.batchSizes] } : {}),
        tasks,
      },
    });
  }
  return jobs;
}

function invalid(message: string): never {
  throw new BenchUsageError(`invalid bench job: ${message}`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function onlyKeys(where: string, v: Record<string, unknown>, allowed: readonly string[]): void {
  const extra = Object.keys(v).find((k) => !allowed.includes(k));
  if (extra !== undefined) invalid(`${where}unknown field '${extra}' (known: ${allowed.join(', ')})`);
}

function strings(field: string, v: unknown): string[] {
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) {
    invalid(`${field} must be a list of names, got ${describeValue(v)}`);
  }
  return v;
}

/** The plan of a checked job, as the harness runs it (the profile's budgets looked up by name). */
export function planOf(job: BenchJob): RunPlan {
  return planFromLists(
    {
      profile: job.plan.profile,
      models: job.plan.models,
      backends: job.plan.backends,
      batchSizes: job.plan.batchSizes?.map(String),
      tasks: job.plan.tasks,
    },
    (field) => `plan.${field === 'batch-sizes' ? 'batchSizes' : field}`,
  );
}

/**
 * Checks that `payload` (parsed JSON, or its text) is a bench job of this type and version whose
 * plan passes the command line's own validation (known profile, models, backends, tasks, batch
 * sizes in range) and runs exactly its backend; throws a {@link BenchUsageError} saying what is
 * wrong otherwise.
 */
export function parseBenchJob(payload: unknown): BenchJob {
  let value = payload;
  if (typeof payload === 'string') {
    if (payload.length > MAX_BENCH_JOB_BYTES) {
      invalid(`payload of ${payload.length} bytes is over ${MAX_BENCH_JOB_BYTES}`);
    }
    try {
      value = JSON.parse(payload);
    } catch (e) {
      invalid(`not JSON (${(e as Error).message})`);
    }
  }
  if (!isObject(value)) invalid(`expected an object, got ${describeValue(value)}`);
  if (value.type !== BENCH_JOB_TYPE) {
    invalid(`unknown job type ${describeValue(value.type)}; this worker runs '${BENCH_JOB_TYPE}' only`);
  }
  if (value.version !== BENCH_JOB_VERSION) {
    invalid(
      `job format version ${describeValue(value.version)}; this worker reads version ${BENCH_JOB_VERSION}`,
    );
  }
  onlyKeys('', value, ['type', 'version', 'runId', 'backend', 'plan']);
  if (typeof value.runId !== 'string' || !new RegExp(`^[A-Za-z0-9._-]{1,${MAX_RUN_ID}}$`).test(value.runId)) {
    invalid(
      `runId must be 1 to ${MAX_RUN_ID} letters, digits, '.', '_' or '-', got ${describeValue(value.runId)}`,
    );
  }
  const backend = value.backend;
  if (typeof backend !== 'string' || !(ALL_BACKENDS as readonly string[]).includes(backend)) {
    invalid(`unknown backend ${describeValue(backend)} (known: ${ALL_BACKENDS.join(', ')})`);
  }
  const p = value.plan;
  if (!isObject(p)) invalid(`plan must be an object, got ${describeValue(p)}`);
  onlyKeys('plan: ', p, ['profile', 'models', 'backends', 'batchSizes', 'tasks']);
  if (typeof p.profile !== 'string') invalid(`plan.profile must be a name, got ${describeValue(p.profile)}`);
  const backends = strings('plan.backends', p.backends);
  if (backends.length !== 1 || backends[0] !== backend) {
    invalid(
      `plan.backends must be exactly the job's backend ['${backend}'], got ${JSON.stringify(backends)}`,
    );
  }
  let batchSizes: number[] | undefined;
  if (p.batchSizes !== undefined) {
    if (!Array.isArray(p.batchSizes) || !p.batchSizes.every((b) => typeof b === 'number')) {
      invalid(`plan.batchSizes must be a list of numbers, got ${describeValue(p.batchSizes)}`);
    }
    batchSizes = p.batchSizes;
  }
  const job: BenchJob = {
    type: BENCH_JOB_TYPE,
    version: BENCH_JOB_VERSION,
    runId: value.runId,
    backend: backend as BenchBackend,
    plan: {
      profile: p.profile as PlanPart['profile'],
      models: strings('plan.models', p.models),
      backends: [backend as BenchBackend],
      ...(batchSizes !== undefined ? { batchSizes } : {}),
      tasks: strings('plan.tasks', p.tasks) as Task[],
    },
  };
  try {
    planOf(job);
  } catch (e) {
    invalid((e as Error).message);
  }
  return job;
}
