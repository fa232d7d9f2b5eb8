import { MetricsError } from '../errors.js';
import type { Labels } from '../validate.js';
import { checkSameLength } from '../validate.js';

/** Options of {@link mistakesFirst}. */
export interface MistakesFirstOptions {
  /** Samples to pick in all; default 32. */
  count?: number;
  /**
   * At most this many mistakes, so that correct predictions show too; default: all but one row of
   * 8 (`count − 8`), and at least half of `count`.
   */
  maxWrong?: number;
}

/** Which samples {@link mistakesFirst} picked, in grid order. */
export interface SampleSelection {
  /** Sample indices: the picked mistakes (most confident first), then correct predictions in data order. */
  indices: number[];
  /** Mistakes among the picked samples (the first `shownWrong` indices). */
  shownWrong: number;
  /** Mistakes among all samples. */
  wrong: number;
}

/**
 * Picks samples for a {@link sampleGrid}: the most confident wrong predictions first (what a reader
 * wants to see at 99 % accuracy, where the first images are all right), then correct ones in data
 * order. `confidence[i]` is the probability the model gave its predicted class for sample `i`; ties
 * keep data order.
 */
export function mistakesFirst(
  trueLabels: Labels,
  predLabels: Labels,
  confidence: ArrayLike<number>,
  options: MistakesFirstOptions = {},
): SampleSelection {
  const context = 'mistakesFirst';
  checkSameLength(context, predLabels, trueLabels);
  if (confidence.length !== trueLabels.length) {
    throw new MetricsError(
      context,
      `length mismatch: ${confidence.length} confidences but ${trueLabels.length} samples`,
    );
  }
  const asked = options.count ?? 32;
  if (!Number.isInteger(asked) || asked < 0)
    throw new MetricsError(context, `count must be a non-negative integer, got ${asked}`);
  const count = Math.min(asked, trueLabels.length);
  const maxWrong = options.maxWrong ?? Math.max(Math.ceil(count / 2), count - 8);
  if (!Number.isInteger(maxWrong) || maxWrong < 0)
    throw new MetricsError(context, `maxWrong must be a non-negative integer, got ${maxWrong}`);
  const wrong: number[] = [];
  const right: number[] = [];
  for (let i = 0; i < trueLabels.length; i++) (trueLabels[i] === predLabels[i] ? right : wrong).push(i);
  const byConfidence = [...wrong].sort((a, b) => confidence[b] - confidence[a] || a - b);
  const shownWrong = Math.min(wrong.length, maxWrong, count);
  const picked = byConfidence.slice(0, shownWrong);
  // Too few correct predictions to fill the grid: more mistakes fill it instead.
  const shownRight = Math.min(right.length, count - shownWrong);
  const extraWrong = byConfidence.slice(shownWrong, shownWrong + count - shownWrong - shownRight);
  return {
    indices: [...picked, ...extraWrong, ...right.slice(0, shownRight)],
    shownWrong: shownWrong + extraWrong.length,
    wrong: wrong.length,
  };
}
