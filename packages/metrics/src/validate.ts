import { MetricsError } from './errors.js';

/** Class labels, one per sample: `Int32Array`, `Uint8Array`, `number[]`, … */
export type Labels = ArrayLike<number>;

/** Row-major scores `[n, classes]` (probabilities or logits), one row per sample. */
export type Scores = ArrayLike<number>;

/** Throws unless `classes` is an integer ≥ 1. */
export function checkClassCount(context: string, classes: number): void {
  if (!Number.isInteger(classes) || classes < 1) {
    throw new MetricsError(context, `class count must be an integer >= 1, got ${classes}`);
  }
}

/** Throws unless every label is an integer in `[0, classes)`; `what` names the argument. */
export function checkLabels(context: string, what: string, labels: Labels, classes: number): void {
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i];
    if (!Number.isInteger(label) || label < 0 || label >= classes) {
      // A label past the end usually means two class counts disagree (a 10-class model's
      // predictions scored against a 5-class data set): say so with both counts.
      const counts =
        Number.isInteger(label) && label >= classes
          ? `; ${what} uses at least ${label + 1} classes but the metric was made for ${classes} (do the model and the data set have the same classes?)`
          : '';
      throw new MetricsError(
        context,
        `${what}[${i}] = ${label} is out of range: labels must be integers in [0, ${classes - 1}]${counts}`,
      );
    }
  }
}

/** Throws unless `pred` and `target` have the same length. */
export function checkSameLength(context: string, pred: Labels, target: Labels): void {
  if (pred.length !== target.length) {
    throw new MetricsError(
      context,
      `length mismatch: ${pred.length} predictions but ${target.length} targets`,
    );
  }
}

/** Throws unless `scores` has `target.length × classes` finite values. */
export function checkScores(context: string, scores: Scores, target: Labels, classes: number): void {
  if (scores.length !== target.length * classes) {
    throw new MetricsError(
      context,
      `length mismatch: scores has ${scores.length} values but ${target.length} targets × ${classes} classes = ${target.length * classes} were expected (row-major [n, classes])`,
    );
  }
  for (let i = 0; i < scores.length; i++) {
    if (!Number.isFinite(scores[i])) {
      throw new MetricsError(
        context,
        `scores[${i}] (sample ${Math.floor(i / classes)}, class ${i % classes}) is ${scores[i]}, not a finite number`,
      );
    }
  }
}

/** Throws unless `other` is of the same class as `self` and has the same class count. */
export function checkMergeable(
  context: string,
  self: { readonly classes: number },
  other: { readonly classes: number },
): void {
  if (other.constructor !== self.constructor) {
    throw new MetricsError(
      context,
      `cannot merge a ${other.constructor.name} into a ${self.constructor.name}`,
    );
  }
  if (other.classes !== self.classes) {
    throw new MetricsError(
      context,
      `cannot merge metrics with different class counts (${self.classes} and ${other.classes})`,
    );
  }
}
