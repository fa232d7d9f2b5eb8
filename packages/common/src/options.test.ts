import { describe, expect, it } from 'vitest';
import {
  checkBoolean,
  checkInteger,
  checkNumber,
  checkOneOf,
  isLenetError,
  nonFiniteIndex,
  normalizationProblem,
  OptionError,
} from './index.js';

describe('option checks', () => {
  it('name the option and the valid range, and are input errors', () => {
    expect(checkInteger('batchSize', 4, { min: 1 })).toBe(4);
    const error = (() => {
      try {
        checkInteger('batchSize', 0, { min: 1 });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(OptionError);
    expect(isLenetError(error) && error.kind === 'input' && error.code === 'INVALID_OPTION').toBe(true);
    expect((error as OptionError).option).toBe('batchSize');
    expect(() => checkInteger('batchSize', 0, { min: 1 })).toThrow(
      'batchSize must be a positive integer, got 0',
    );
    expect(() => checkInteger('n', -1, { min: 0 })).toThrow('n must be a non-negative integer, got -1');
    expect(() => checkInteger('size', 1e6, { min: 1, max: 16384 })).toThrow(
      'size must be an integer in [1, 16384], got 1000000',
    );
    expect(() => checkInteger('k', Number.NaN, { min: 1 })).toThrow(/got NaN/);
    expect(() => checkInteger('k', '3', { min: 1 })).toThrow(/got "3"/);
  });

  it('check finite numbers in open and closed ranges', () => {
    expect(checkNumber('f', 0.5, { above: 0, below: 1 })).toBe(0.5);
    expect(() => checkNumber('f', 1, { above: 0, below: 1 })).toThrow(
      'f must be strictly between 0 and 1, got 1',
    );
    expect(() => checkNumber('t', 1, { min: 0, below: 1, noun: 'a fraction' })).toThrow(
      't must be a fraction in [0, 1), got 1',
    );
    expect(() => checkNumber('s', Number.POSITIVE_INFINITY)).toThrow(
      's must be a finite number, got Infinity',
    );
    expect(() => checkOneOf('layout', 'NCWH', ['NHWC', 'NCHW'] as const)).toThrow(
      `layout must be one of 'NHWC', 'NCHW', got "NCWH"`,
    );
  });
});

describe('nonFiniteIndex', () => {
  it('finds the first NaN or infinity', () => {
    expect(nonFiniteIndex(new Float32Array([0, 1, -2]))).toBe(-1);
    expect(nonFiniteIndex([0, Number.NaN, 1])).toBe(1);
    expect(nonFiniteIndex(new Float32Array([0, 0, Number.NEGATIVE_INFINITY]))).toBe(2);
  });

  it('is -1 for negative zero, extremes and empty input', () => {
    expect(nonFiniteIndex(new Float32Array([0, -0, 3e38, -3e38, 1e-45]))).toBe(-1);
    expect(nonFiniteIndex([])).toBe(-1);
  });

  it('finds the first bad value at every position of the four-way sum and of its tail', () => {
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      for (const length of [1, 4, 7, 9]) {
        for (let at = 0; at < length; at++) {
          const x = new Float32Array(length).fill(0.5);
          x[at] = bad;
          if (at + 2 < length) x[at + 2] = Number.NaN;
          expect(nonFiniteIndex(x)).toBe(at);
        }
      }
    }
  });
});

describe('normalizationProblem', () => {
  it('accepts unit and finite statistics with std > 0', () => {
    expect(normalizationProblem('unit')).toBeUndefined();
    expect(normalizationProblem({ mean: [0.1307], std: [0.3081] }, 1)).toBeUndefined();
  });

  it('names std 0, non-finite values and wrong lengths', () => {
    expect(normalizationProblem({ mean: [0.5], std: [0] })).toMatch(
      /normalize.std must be > 0, got \[0\]: std\[0\] is 0/,
    );
    expect(normalizationProblem({ mean: [Number.POSITIVE_INFINITY], std: [1] })).toBe(
      'normalize.mean[0] is Infinity, not a finite number',
    );
    expect(normalizationProblem({ mean: ['a'], std: [1] })).toBe(
      'normalize.mean[0] is "a", not a finite number',
    );
    expect(normalizationProblem({ mean: [0, 0], std: [1] }, 3)).toBe(
      'normalize.mean has 2 values, expected 1 or 3 (channels)',
    );
    expect(normalizationProblem({ mean: [0, 0], std: [1, 1, 1] })).toMatch(
      /mean has 2 values but normalize.std has 3/,
    );
    expect(normalizationProblem({ mean: [0, 0, 0], std: [1] })).toBeUndefined();
    expect(normalizationProblem('standard')).toMatch(/must be 'unit' or \{ mean, std \}/);
  });
});

describe('checkBoolean', () => {
  it('accepts true and false only, naming the option and the value otherwise', () => {
    expect(checkBoolean('flip', true)).toBe(true);
    expect(checkBoolean('flip', false)).toBe(false);
    expect(() => checkBoolean('augment.flip', 'yes')).toThrow(
      /augment\.flip must be true or false, got "yes"/,
    );
    expect(() => checkBoolean('spinning', 1)).toThrow(OptionError);
  });
});
