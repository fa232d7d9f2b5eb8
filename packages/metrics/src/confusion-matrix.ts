import { argmax } from './argmax.js';
import { MetricsError } from './errors.js';
import type { LabelMetric } from './metric.js';
import type { Labels, Scores } from './validate.js';
import { checkClassCount, checkLabels, checkMergeable, checkSameLength, checkScores } from './validate.js';

/** A confusion matrix: `matrix[t * classes + p]` counts samples of true class `t` predicted as `p`. */
export interface ConfusionMatrixResult {
  /** Row-major `[classes, classes]` counts; row = true class, column = predicted class. */
  readonly matrix: Int32Array;
  /** Number of classes (rows and columns). */
  readonly classes: number;
}

/**
 * How to normalise a confusion matrix, as scikit-learn's `normalize`: `'true'` divides each row
 * by its sum (recall on the diagonal), `'pred'` each column by its sum (precision on the
 * diagonal), `'all'` everything by the total. A zero sum gives zeros, not NaN.
 */
export type Normalization = 'true' | 'pred' | 'all';

/**
 * Normalises a row-major `[classes, classes]` confusion matrix (row = true, column = predicted).
 * Rows, columns or matrices that sum to zero become zeros, as in scikit-learn.
 */
export function normalizeConfusionMatrix(
  matrix: ArrayLike<number>,
  classes: number,
  mode: Normalization,
): Float64Array {
  const context = 'normalizeConfusionMatrix';
  checkClassCount(context, classes);
  if (matrix.length !== classes * classes) {
    throw new MetricsError(context, `matrix has ${matrix.length} cells, expected ${classes}×${classes}`);
  }
  const out = new Float64Array(classes * classes);
  const divide = (i: number, sum: number) => {
    out[i] = sum === 0 ? 0 : matrix[i] / sum;
  };
  if (mode === 'all') {
    let total = 0;
    for (let i = 0; i < matrix.length; i++) total += matrix[i];
    for (let i = 0; i < matrix.length; i++) divide(i, total);
  } else if (mode === 'true') {
    for (let t = 0; t < classes; t++) {
      let sum = 0;
      for (let p = 0; p < classes; p++) sum += matrix[t * classes + p];
      for (let p = 0; p < classes; p++) divide(t * classes + p, sum);
    }
  } else if (mode === 'pred') {
    for (let p = 0; p < classes; p++) {
      let sum = 0;
      for (let t = 0; t < classes; t++) sum += matrix[t * classes + p];
      for (let t = 0; t < classes; t++) divide(t * classes + p, sum);
    }
  } else {
    throw new MetricsError(context, `normalisation must be 'true', 'pred' or 'all', got ${String(mode)}`);
  }
  return out;
}

/** Counts (true class, predicted class) pairs; scores are turned into labels by arg-max. */
export class ConfusionMatrix implements LabelMetric<ConfusionMatrixResult> {
  readonly classes: number;
  private readonly counts: Int32Array;

  constructor(classes: number) {
    checkClassCount('ConfusionMatrix', classes);
    this.classes = classes;
    this.counts = new Int32Array(classes * classes);
  }

  /** Number of samples added so far. */
  get count(): number {
    let total = 0;
    for (let i = 0; i < this.counts.length; i++) total += this.counts[i];
    return total;
  }

  update(scores: Scores, target: Labels): void {
    checkLabels('ConfusionMatrix.update', 'target', target, this.classes);
    checkScores('ConfusionMatrix.update', scores, target, this.classes);
    this.addLabels(argmax(scores, this.classes), target);
  }

  updateLabels(pred: Labels, target: Labels): void {
    checkSameLength('ConfusionMatrix.updateLabels', pred, target);
    checkLabels('ConfusionMatrix.updateLabels', 'pred', pred, this.classes);
    checkLabels('ConfusionMatrix.updateLabels', 'target', target, this.classes);
    this.addLabels(pred, target);
  }

  /** A copy of the counts (all zeros before any update). */
  compute(): ConfusionMatrixResult {
    return { matrix: this.counts.slice(), classes: this.classes };
  }

  /** The matrix normalised over true classes (rows), predicted classes (columns) or everything. */
  normalized(mode: Normalization): Float64Array {
    return normalizeConfusionMatrix(this.counts, this.classes, mode);
  }

  reset(): void {
    this.counts.fill(0);
  }

  merge(other: this): this {
    checkMergeable('ConfusionMatrix.merge', this, other);
    for (let i = 0; i < this.counts.length; i++) this.counts[i] += other.counts[i];
    return this;
  }

  private addLabels(pred: Labels, target: Labels): void {
    const { classes, counts } = this;
    for (let i = 0; i < target.length; i++) counts[target[i] * classes + pred[i]]++;
  }
}
