import { UsageError } from './errors.js';

// Every option value of the CLI is checked here, by one of these parsers, so that a bad value
// exits 2 with the valid range in the message before any work starts, and nothing is replaced
// silently: not an empty value (Number('') is 0), not '0x10' or '1e3' for an integer.

/** Decimal digits, an optional leading '+': what an integer option accepts. */
const INTEGER = /^\+?\d+$/;
/** A plain decimal number with an optional exponent: no hex, no 'Infinity', not empty. */
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** An upper bound on an integer option, and what it comes from (shown in the message). */
export interface IntBound {
  max: number;
  /** Why this is the maximum, e.g. `this machine's cores`. */
  why?: string;
}

function intParser(flag: string, min: 0 | 1, bound?: IntBound): (value: string) => number {
  const kind = min === 1 ? 'a positive integer' : 'a non-negative integer';
  const max = bound?.max ?? Number.MAX_SAFE_INTEGER;
  const range =
    bound === undefined ? `${min} or more` : `${min} to ${max}${bound.why ? ` (${bound.why})` : ''}`;
  return (value) => {
    const n = INTEGER.test(value) ? Number(value) : Number.NaN;
    if (!(Number.isSafeInteger(n) && n >= min && n <= max))
      throw new UsageError(`${flag} must be ${kind}, got '${value}'; valid range: ${range}`);
    return n;
  };
}

/** Parses a positive integer flag value (at most `bound.max`), or throws a usage error naming the flag and the range. */
export function positiveInt(flag: string, bound?: IntBound): (value: string) => number {
  return intParser(flag, 1, bound);
}

/** Parses a non-negative integer flag value (at most `bound.max`). */
export function nonNegativeInt(flag: string, bound?: IntBound): (value: string) => number {
  return intParser(flag, 0, bound);
}

/** Parses a positive, finite number flag value. */
export function positiveNumber(flag: string): (value: string) => number {
  return (value) => {
    const n = NUMBER.test(value) ? Number(value) : Number.NaN;
    if (!(Number.isFinite(n) && n > 0))
      throw new UsageError(`${flag} must be a positive number, got '${value}'; valid range: (0, ∞)`);
    return n;
  };
}

/** Parses a number flag value in `[min, max)` (`max` excluded) or `[min, max]` with `maxIncluded`. */
export function numberIn(
  flag: string,
  min: number,
  max: number,
  options: { maxIncluded?: boolean } = {},
): (value: string) => number {
  const range = `[${min}, ${max}${options.maxIncluded ? ']' : ')'}`;
  return (value) => {
    const n = NUMBER.test(value) ? Number(value) : Number.NaN;
    if (!(n >= min && (options.maxIncluded ? n <= max : n < max)))
      throw new UsageError(`${flag} must be in ${range}, got ${value === '' ? "''" : value}`);
    return n;
  };
}

/** Accepts only one of `choices`. */
export function oneOf<T extends string>(flag: string, choices: readonly T[]): (value: string) => T {
  return (value) => {
    if (!(choices as readonly string[]).includes(value)) {
      throw new UsageError(`${flag} must be one of ${choices.join(', ')}; got '${value}'`);
    }
    return value as T;
  };
}

/** Accepts only one of the integers `choices` (e.g. a channel count). */
export function oneOfInts<T extends number>(flag: string, choices: readonly T[]): (value: string) => T {
  return (value) => {
    const n = INTEGER.test(value) ? Number(value) : Number.NaN;
    if (!(choices as readonly number[]).includes(n)) {
      throw new UsageError(`${flag} must be one of ${choices.join(', ')}; got '${value}'`);
    }
    return n as T;
  };
}
