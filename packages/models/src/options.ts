import { checkInteger, checkNumber, checkOneOf } from '@lenet/common';
import { type InitializerName, initializerNames } from './spec.js';

/**
 * Every option of this package's public functions is checked here, before any work, with the
 * valid range in the message. A bad value throws an `OptionError` (code `INVALID_OPTION`).
 */

/** A byte or count limit: a positive integer. */
export function checkLimit(option: string, value: unknown): number {
  return checkInteger(option, value, { min: 1 });
}

/** The options of `buildModel` other than the limits: a finite seed, known initialisers. */
export function checkBuildOptions(options: {
  seed?: unknown;
  reluInitializer?: unknown;
  otherInitializer?: unknown;
}): void {
  if (options.seed !== undefined) checkNumber('seed', options.seed);
  for (const key of ['reluInitializer', 'otherInitializer'] as const) {
    if (options[key] !== undefined) checkOneOf<InitializerName>(key, options[key], initializerNames);
  }
}
