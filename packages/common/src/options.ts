import { LenetError } from './errors.js';

/**
 * Checks of option values given to a public function, with the valid range in the message. Each
 * package keeps its option checks in one module that calls these.
 */

/**
 * An option of a public function out of its range or of the wrong type, e.g. `batchSize must be
 * a positive integer, got 0`. Code `INVALID_OPTION`, kind `'input'` (the CLI exits 2).
 */
export class OptionError extends LenetError<'INVALID_OPTION'> {
  override readonly name: string = 'OptionError';
  /** The option, as the caller wrote it (`batchSize`, `normalize.std`, …). */
  readonly option: string;

  constructor(option: string, message: string, options?: { cause?: unknown }) {
    super('INVALID_OPTION', message, options);
    this.option = option;
  }
}

/** A value for a message: numbers as written, other values as short JSON. */
export function describeValue(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (value === undefined) return 'undefined';
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = Object.prototype.toString.call(value);
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** An inclusive integer range; `max` absent means no upper bound. */
export interface IntegerRange {
  min: number;
  max?: number;
}

function integerRange({ min, max }: IntegerRange): string {
  if (max !== undefined) return `an integer in [${min}, ${max}]`;
  if (min === 0) return 'a non-negative integer';
  if (min === 1) return 'a positive integer';
  return `an integer >= ${min}`;
}

/** Returns `value` if it is an integer in `range`; otherwise throws an {@link OptionError}. */
export function checkInteger(option: string, value: unknown, range: IntegerRange): number {
  if (
    typeof value !== 'number' ||
    !Number.isInteger(value) ||
    value < range.min ||
    (range.max !== undefined && value > range.max)
  ) {
    throw new OptionError(option, `${option} must be ${integerRange(range)}, got ${describeValue(value)}`);
  }
  return value;
}

/** A range of finite numbers; `min`/`max` are inclusive, `above`/`below` exclusive. */
export interface NumberRange {
  min?: number;
  max?: number;
  above?: number;
  below?: number;
  /** What the number is called in the message (default `a number`, e.g. `a fraction`). */
  noun?: string;
}

function numberRange(r: NumberRange): string {
  const noun = r.noun ?? 'a number';
  const lo = r.min ?? r.above;
  const hi = r.max ?? r.below;
  if (lo !== undefined && hi !== undefined) {
    if (r.above !== undefined && r.below !== undefined) return `strictly between ${lo} and ${hi}`;
    return `${noun} in ${r.min !== undefined ? '[' : '('}${lo}, ${hi}${r.max !== undefined ? ']' : ')'}`;
  }
  if (r.min !== undefined) return `${noun} >= ${r.min}`;
  if (r.above !== undefined) return `${noun} > ${r.above}`;
  if (r.max !== undefined) return `${noun} <= ${r.max}`;
  if (r.below !== undefined) return `${noun} < ${r.below}`;
  return `a finite number`;
}

/** Returns `value` if it is a finite number in `range`; otherwise throws an {@link OptionError}. */
export function checkNumber(option: string, value: unknown, range: NumberRange = {}): number {
  if (
    typeof value !== 'number' ||
    !Number.isFinite(value) ||
    (range.min !== undefined && value < range.min) ||
    (range.max !== undefined && value > range.max) ||
    (range.above !== undefined && value <= range.above) ||
    (range.below !== undefined && value >= range.below)
  ) {
    throw new OptionError(option, `${option} must be ${numberRange(range)}, got ${describeValue(value)}`);
  }
  return value;
}

/** Returns `value` if it is one of `allowed`; otherwise throws an {@link OptionError} listing them. */
export function checkOneOf<T extends string | number>(
  option: string,
  value: unknown,
  allowed: readonly T[],
): T {
  if (!(allowed as readonly unknown[]).includes(value)) {
    const list = allowed.map((a) => (typeof a === 'string' ? `'${a}'` : String(a))).join(', ');
    throw new OptionError(option, `${option} must be one of ${list}, got ${describeValue(value)}`);
  }
  return value as T;
}

/** A boolean option: `true` or `false`, nothing else (no truthy strings or numbers). */
export function checkBoolean(option: string, value: unknown): boolean {
  if (typeof value !== 'boolean') {
    throw new OptionError(option, `${option} must be true or false, got ${describeValue(value)}`);
  }
  return value;
}
