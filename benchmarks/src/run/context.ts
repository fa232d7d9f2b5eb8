import type { ModelSpec } from '@lenet/models';
import type { Task } from '../args.js';
import { failedCell, skippedCell } from '../cells/common.js';
import type { MnistPair } from '../data.js';
import type { Profile, Timing } from '../profiles.js';
import {
  type BenchBackend,
  type BenchEnvironment,
  type CellResult,
  type CellTask,
  FIT_BACKENDS,
  ORT_BACKENDS,
} from '../types.js';

/** What to run: the profile and the command line's filters. */
export interface RunPlan {
  profile: Profile;
  models: string[];
  backends: BenchBackend[];
  /** `--batch-sizes`: replaces both lists (and the profile's per-model batch lists). */
  batchSizes?: number[];
  tasks: Task[];
}

/** Progress lines go here (stderr in the CLI, so stdout ends with the table). */
export type Log = (line: string) => void;

/** The message of a thrown value; `firstLine` keeps only its first line. */
export function errorMessage(err: unknown, firstLine = false): string {
  if (!(err instanceof Error)) return String(err);
  return firstLine ? err.message.split('\n')[0] : err.message;
}

function fmtCell(c: CellResult): string {
  if (c.status !== 'ok') return `${c.id}: ${c.status} (${c.reason})`;
  return `${c.id}: ${Math.round(c.samplesPerSec ?? 0).toLocaleString('en-US')} samples/s ±${(c.rme ?? 0).toFixed(1)}% (${c.iterations} it)`;
}

/**
 * One benchmark run as its phases share it: the plan and what it asks of each model and backend,
 * the environment being described, the data, and the cells and notes collected so far.
 */
export class BenchRun {
  readonly cells: CellResult[] = [];
  readonly notes: string[] = [];
  private readonly specs: Map<string, ModelSpec>;

  constructor(
    readonly plan: RunPlan,
    readonly log: Log,
    readonly env: BenchEnvironment,
    readonly data: MnistPair,
    specOf: (model: string) => ModelSpec,
  ) {
    this.specs = new Map(plan.models.map((m) => [m, specOf(m)]));
  }

  get profile(): Profile {
    return this.plan.profile;
  }

  /** The spec of a model of the plan. */
  spec(model: string): ModelSpec {
    const spec = this.specs.get(model);
    if (spec === undefined) throw new Error(`model '${model}' is not in the plan`);
    return spec;
  }

  want(t: Task): boolean {
    return this.plan.tasks.includes(t);
  }

  trainBatches(model: string): number[] {
    const { profile } = this;
    return !this.want('train')
      ? []
      : (this.plan.batchSizes ?? profile.overrides[model]?.trainBatchSizes ?? profile.trainBatchSizes);
  }

  inferBatches(model: string): number[] {
    const { profile } = this;
    return !this.want('infer')
      ? []
      : (this.plan.batchSizes ?? profile.overrides[model]?.inferBatchSizes ?? profile.inferBatchSizes);
  }

  /** Why the profile skips this model on this backend, if it does. */
  skipReason(model: string, backend: BenchBackend): string | undefined {
    return this.profile.skipBackends[backend] ?? this.profile.overrides[model]?.skipBackends?.[backend];
  }

  /** How long a cell of this backend and task is measured (a heavy model's own timing first). */
  timing(backend: BenchBackend, task: CellTask, model?: string): Timing {
    const own = model === undefined ? undefined : this.profile.overrides[model]?.timing?.[task];
    return own ?? this.profile.backendTiming[backend]?.[task] ?? this.profile[task];
  }

  /** How long the PyTorch reference measures a model (its own timing first). */
  pytorchTiming(model: string): Timing {
    return this.profile.overrides[model]?.timing?.pytorch ?? this.profile.pytorch;
  }

  /** Records a cell and logs it. */
  push(c: CellResult): void {
    this.cells.push(c);
    this.log(fmtCell(c));
  }

  /** Records every cell of `backend` as skipped for `reason` (logged once). */
  skipAll(backend: BenchBackend, reason: string): void {
    const trains = !(ORT_BACKENDS as readonly string[]).includes(backend);
    const infers = !(backend in FIT_BACKENDS);
    for (const model of this.plan.models) {
      if (trains)
        for (const b of this.trainBatches(model))
          this.cells.push(skippedCell('train', model, backend, b, reason));
      if (infers)
        for (const b of this.inferBatches(model))
          this.cells.push(skippedCell('infer', model, backend, b, reason));
    }
    this.log(`${backend}: skipped (${reason})`);
  }

  /**
   * Whether `backend`'s cells run: false, with every cell recorded as skipped, where the profile
   * skips the backend whole; otherwise its environment line is logged.
   */
  admit(backend: BenchBackend): boolean {
    const whole = this.profile.skipBackends[backend];
    if (whole) {
      this.skipAll(backend, whole);
      return false;
    }
    this.log(`${backend}: ${this.env.backends[backend]}`);
    return true;
  }

  /**
   * Runs one cell per batch size (in order), or records each as skipped when `skip` is given; a
   * cell that throws is recorded as failed.
   */
  async runCells(
    task: CellTask,
    model: string,
    backend: BenchBackend,
    batches: readonly number[],
    skip: string | undefined,
    run: (batch: number) => Promise<CellResult>,
  ): Promise<void> {
    for (const batch of batches) {
      if (skip) this.push(skippedCell(task, model, backend, batch, skip));
      else this.push(await run(batch).catch((e) => failedCell(task, model, backend, batch, e)));
    }
  }
}
