import {
  checkInteger,
  checkNumber,
  checkOneOf,
  describeValue,
  isLenetError,
  readRegularFile,
} from '@lenet/common';
import { cellId } from './cells/common.js';
import { BenchUsageError } from './errors.js';
import { ALL_BACKENDS, type BenchResult, PYTORCH_BACKEND, RESULT_FORMAT, RESULT_VERSION } from './types.js';

/**
 * Reading results files back (`--compare`, `--merge`): every field the reports read is checked,
 * so a hand-edited, truncated or foreign file is refused with the file and the field named
 * instead of rendering `NaN` or crashing halfway through a table.
 */

/** Largest results file read (a full run writes about 200 kB). */
const MAX_RESULTS_BYTES = 64 * 1024 * 1024;

const TASKS = ['train', 'infer'] as const;
const STATUSES = ['ok', 'skipped', 'failed'] as const;

type Obj = Record<string, unknown>;

function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The checks of one file: each names the field (`cells[3].batch`) it found wrong. */
class Checker {
  constructor(private readonly file: string) {}

  fail(field: string, what: string): never {
    throw new BenchUsageError(`${this.file}: ${field} ${what}`);
  }

  /** Runs a `@lenet/common` check and turns its message into one naming the file. */
  private common<T>(check: () => T): T {
    try {
      return check();
    } catch (err) {
      if (isLenetError(err)) throw new BenchUsageError(`${this.file}: ${err.message}`, { cause: err });
      throw err;
    }
  }

  object(field: string, v: unknown): Obj {
    if (!isObject(v)) this.fail(field, `must be an object, got ${describeValue(v)}`);
    return v;
  }

  array(field: string, v: unknown): unknown[] {
    if (!Array.isArray(v)) this.fail(field, `must be an array, got ${describeValue(v)}`);
    return v;
  }

  string(field: string, v: unknown): string {
    if (typeof v !== 'string') this.fail(field, `must be a string, got ${describeValue(v)}`);
    return v;
  }

  optionalString(field: string, v: unknown): void {
    if (v !== undefined) this.string(field, v);
  }

  strings(field: string, v: unknown): void {
    for (const [i, x] of this.array(field, v).entries()) this.string(`${field}[${i}]`, x);
  }

  /** A record of strings (`env.packages`, `env.backends`). */
  stringRecord(field: string, v: unknown): void {
    for (const [k, x] of Object.entries(this.object(field, v))) this.string(`${field}.${k}`, x);
  }

  number(field: string, v: unknown, range: { min?: number; above?: number; max?: number } = {}): number {
    return this.common(() => checkNumber(field, v, range));
  }

  optionalNumber(field: string, v: unknown, range: { min?: number; above?: number } = {}): void {
    if (v !== undefined) this.number(field, v, range);
  }

  numbers(field: string, v: unknown): void {
    for (const [i, x] of this.array(field, v).entries()) this.number(`${field}[${i}]`, x);
  }

  integer(field: string, v: unknown, min: number): number {
    return this.common(() => checkInteger(field, v, { min }));
  }

  oneOf<T extends string>(field: string, v: unknown, allowed: readonly T[]): T {
    return this.common(() => checkOneOf(field, v, allowed));
  }
}

function checkEnv(c: Checker, v: unknown): void {
  const e = c.object('env', v);
  const date = c.string('env.date', e.date);
  if (Number.isNaN(Date.parse(date))) c.fail('env.date', `is not a date: ${describeValue(date)}`);
  c.optionalString('env.hostname', e.hostname);
  c.optionalString('env.os', e.os);
  c.string('env.cpuModel', e.cpuModel);
  c.integer('env.cores', e.cores, 1);
  c.number('env.totalMemoryMb', e.totalMemoryMb, { min: 0 });
  c.string('env.platform', e.platform);
  c.string('env.node', e.node);
  c.numbers('env.loadAverageStart', e.loadAverageStart);
  if (e.loadAverageEnd !== undefined) c.numbers('env.loadAverageEnd', e.loadAverageEnd);
  c.stringRecord('env.packages', e.packages);
  c.stringRecord('env.backends', e.backends);
  c.stringRecord('env.onnxProviders', e.onnxProviders);
  c.string('env.pytorch', e.pytorch);
}

function checkCells(c: Checker, v: unknown): void {
  const seen = new Set<string>();
  c.array('cells', v).forEach((raw, i) => {
    const cell = c.object(`cells[${i}]`, raw);
    const id = c.string(`cells[${i}].id`, cell.id);
    const at = `cells[${i}] (${id})`;
    const task = c.oneOf(`${at}.task`, cell.task, TASKS);
    const model = c.string(`${at}.model`, cell.model);
    const backend = c.oneOf(`${at}.backend`, cell.backend, ALL_BACKENDS);
    const batch = c.integer(`${at}.batch`, cell.batch, 1);
    const status = c.oneOf(`${at}.status`, cell.status, STATUSES);
    // The id is what --compare matches cells by: it must say what the fields say.
    const expected = cellId(task, model, backend, batch);
    if (id !== expected) c.fail(`${at}.id`, `does not match its fields (expected '${expected}')`);
    if (seen.has(id)) c.fail(at, 'appears twice');
    seen.add(id);
    c.optionalString(`${at}.reason`, cell.reason);
    c.optionalString(`${at}.note`, cell.note);
    c.optionalNumber(`${at}.threads`, cell.threads, { min: 1 });
    if (status !== 'ok') return;
    c.number(`${at}.samplesPerSec`, cell.samplesPerSec, { above: 0 });
    c.optionalNumber(`${at}.rme`, cell.rme, { min: 0 });
    c.optionalNumber(`${at}.iterations`, cell.iterations, { min: 0 });
    if (cell.latencyMs !== undefined) {
      const l = c.object(`${at}.latencyMs`, cell.latencyMs);
      for (const k of ['mean', 'p50', 'p99']) c.number(`${at}.latencyMs.${k}`, l[k], { min: 0 });
    }
    if (cell.paired !== undefined) {
      const p = c.object(`${at}.paired`, cell.paired);
      c.oneOf(`${at}.paired.against`, p.against, [PYTORCH_BACKEND]);
      const ratios = c.array(`${at}.paired.ratios`, p.ratios);
      if (ratios.length === 0) c.fail(`${at}.paired.ratios`, 'is empty');
      for (const [k, x] of ratios.entries()) c.number(`${at}.paired.ratios[${k}]`, x, { above: 0 });
      c.number(`${at}.paired.median`, p.median, { above: 0 });
    }
    if (cell.memory !== undefined) {
      const m = c.object(`${at}.memory`, cell.memory);
      c.number(`${at}.memory.rssGrowthMb`, m.rssGrowthMb);
      for (const k of ['tensorMb', 'peakTensorMb', 'numTensors', 'leakedTensorsPerIteration']) {
        c.optionalNumber(`${at}.memory.${k}`, m[k]);
      }
    }
  });
}

function checkAccuracy(c: Checker, v: unknown): void {
  c.array('accuracy', v).forEach((raw, i) => {
    const a = c.object(`accuracy[${i}]`, raw);
    const at = `accuracy[${i}] (${c.string(`accuracy[${i}].model`, a.model)})`;
    const status = c.oneOf(`${at}.status`, a.status, STATUSES);
    c.optionalString(`${at}.reason`, a.reason);
    if (status !== 'ok') return;
    const b = c.object(`${at}.budget`, a.budget);
    c.integer(`${at}.budget.trainSamples`, b.trainSamples, 0);
    c.integer(`${at}.budget.epochs`, b.epochs, 1);
    c.integer(`${at}.budget.batch`, b.batch, 1);
    c.string(`${at}.budget.backend`, b.backend);
    c.number(`${at}.budget.seconds`, b.seconds, { min: 0 });
    c.integer(`${at}.testSamples`, a.testSamples, 1);
    for (const k of ['tfjsAccuracy', 'onnxAccuracy', 'disagreement']) {
      c.number(`${at}.${k}`, a[k], { min: 0, max: 1 });
    }
    c.number(`${at}.maxAbsDiff`, a.maxAbsDiff, { min: 0 });
    c.string(`${at}.onnxProvider`, a.onnxProvider);
  });
}

function checkReference(c: Checker, v: unknown): void {
  const r = c.object('reference', v);
  c.oneOf('reference.kind', r.kind, ['measured', 'published', 'none']);
  c.string('reference.note', r.note);
  if (r.published === undefined) return;
  c.array('reference.published', r.published).forEach((raw, i) => {
    const p = c.object(`reference.published[${i}]`, raw);
    c.string(`reference.published[${i}].model`, p.model);
    c.oneOf(`reference.published[${i}].task`, p.task, TASKS);
    c.integer(`reference.published[${i}].batch`, p.batch, 1);
    c.number(`reference.published[${i}].samplesPerSec`, p.samplesPerSec, { above: 0 });
  });
}

/** An extra suite: its status, and for a finished one the rows the report reads. */
function checkExtras(c: Checker, v: unknown): void {
  if (v === undefined) return;
  const x = c.object('extras', v);
  const suite = (name: string): Obj | undefined => {
    if (x[name] === undefined) return undefined;
    const s = c.object(`extras.${name}`, x[name]);
    if (c.oneOf(`extras.${name}.status`, s.status, STATUSES) === 'ok') return s;
    c.string(`extras.${name}.reason`, s.reason);
    return undefined;
  };
  const datasets = suite('datasets');
  if (datasets) {
    c.array('extras.datasets.result', datasets.result).forEach((raw, i) => {
      const at = `extras.datasets.result[${i}]`;
      const row = c.object(at, raw);
      c.string(`${at}.task`, row.task);
      c.string(`${at}.unit`, row.unit);
      for (const k of ['meanMs', 'p99Ms', 'samples', 'value']) c.number(`${at}.${k}`, row[k]);
    });
  }
  const threads = suite('onnxThreads');
  if (threads) {
    const rep = c.object('extras.onnxThreads.result', threads.result);
    c.string('extras.onnxThreads.result.preset', rep.preset);
    c.array('extras.onnxThreads.result.rows', rep.rows).forEach((raw, i) => {
      const at = `extras.onnxThreads.result.rows[${i}]`;
      const row = c.object(at, raw);
      c.string(`${at}.runtime`, row.runtime);
      c.integer(`${at}.batch`, row.batch, 1);
      c.number(`${at}.samplesPerSec`, row.samplesPerSec, { above: 0 });
      c.number(`${at}.rme`, row.rme, { min: 0 });
      if (row.threads !== undefined) c.integer(`${at}.threads`, row.threads, 1);
    });
  }
}

/**
 * Checks that `value` is a results file of this format and version, with every field the
 * reports read of the right type and range.
 * @throws BenchUsageError naming the file and, for a malformed file, the field.
 */
export function validateResults(value: unknown, file: string): BenchResult {
  if (!isObject(value)) {
    throw new BenchUsageError(`${file}: not a benchmark results file (expected a JSON object)`);
  }
  if (value.format !== RESULT_FORMAT) {
    throw new BenchUsageError(
      `${file}: not a ${RESULT_FORMAT} v${RESULT_VERSION} file (format ${JSON.stringify(value.format)}, version ${JSON.stringify(value.version)}); read only results written by pnpm bench`,
    );
  }
  if (value.version !== RESULT_VERSION) {
    throw new BenchUsageError(
      `${file}: ${RESULT_FORMAT} version ${describeValue(value.version)} is not supported (this pnpm bench reads version ${RESULT_VERSION}); use the pnpm bench that wrote it`,
    );
  }
  const c = new Checker(file);
  const o = c.object('options', value.options);
  c.oneOf('options.profile', o.profile, ['quick', 'full']);
  c.strings('options.models', o.models);
  c.array('options.backends', o.backends).forEach((b, i) => {
    c.oneOf(`options.backends[${i}]`, b, ALL_BACKENDS);
  });
  checkEnv(c, value.env);
  checkCells(c, value.cells);
  checkAccuracy(c, value.accuracy);
  checkReference(c, value.reference);
  checkExtras(c, value.extras);
  c.strings('notes', value.notes);
  c.number('durationSec', value.durationSec, { min: 0 });
  return value as unknown as BenchResult;
}

/**
 * Reads and validates a results file; `name` is how messages call it (default: `file`).
 * @throws BenchUsageError for a missing, non-regular, oversized, non-JSON or malformed file.
 */
export async function readResults(file: string, name = file): Promise<BenchResult> {
  const bytes = await readRegularFile(file, (reason) => new BenchUsageError(`${name}: ${reason}`), {
    maxBytes: MAX_RESULTS_BYTES,
    maxBytesOption: 'MAX_RESULTS_BYTES of benchmarks/src/results-file.ts',
  });
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new BenchUsageError(`${name}: not JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  return validateResults(json, name);
}
