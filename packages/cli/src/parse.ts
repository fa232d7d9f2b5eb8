import { UsageError } from './errors.js';

/** Parses a positive integer flag value, or throws a usage error naming the flag. */
export function positiveInt(flag: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n <= 0)
      throw new UsageError(`${flag} must be a positive integer, got '${value}'`);
    return n;
  };
}

/** Parses a non-negative integer flag value. */
export function nonNegativeInt(flag: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0)
      throw new UsageError(`${flag} must be a non-negative integer, got '${value}'`);
    return n;
  };
}

/** Parses a positive number flag value. */
export function positiveNumber(flag: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0)
      throw new UsageError(`${flag} must be a positive number, got '${value}'`);
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
