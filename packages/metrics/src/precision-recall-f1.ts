import type { ConfusionMatrixResult } from './confusion-matrix.js';
import { ConfusionMatrix } from './confusion-matrix.js';
import { MetricsError } from './errors.js';
import type { LabelMetric } from './metric.js';
import type { Labels, Scores } from './validate.js';
import { checkMergeable } from './validate.js';

/** Precision, recall and F1 averaged over classes, with the total support. */
export interface AveragedScores {
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
  /** Total number of samples (sum of the per-class supports). */
  readonly support: number;
}

/** Per-class precision, recall, F1 and support, and their averages, as scikit-learn computes them. */
export interface PrecisionRecallF1Result {
  readonly classes: number;
  /** `tp / (tp + fp)` per class; 0 where the class was never predicted. */
  readonly precision: Float64Array;
  /** `tp / (tp + fn)` per class; 0 where the class never occurs. */
  readonly recall: Float64Array;
  /** `2·tp / (2·tp + fp + fn)` per class (harmonic mean of precision and recall); 0 where undefined. */
  readonly f1: Float64Array;
  /** Number of samples of each true class. */
  readonly support: Int32Array;
  /** Unweighted mean over all `classes` classes. */
  readonly macro: AveragedScores;
  /** Mean over classes weighted by support. */
  readonly weighted: AveragedScores;
  /** From the pooled counts; for single-label multi-class data all three equal the accuracy. */
  readonly micro: AveragedScores;
  /** Fraction of samples on the diagonal; 0 when there are none. */
  readonly accuracy: number;
}

const ratio = (num: number, den: number): number => (den === 0 ? 0 : num / den);

/**
 * Precision, recall, F1 and support from a confusion matrix (row = true, column = predicted).
 * Where a ratio is 0/0 the result is 0 with no warning, like scikit-learn's default
 * `zero_division="warn"` (which also yields 0) without the warning. Every one of the `classes`
 * classes counts in the macro average, also classes with no samples (scikit-learn with
 * `labels=range(classes)`).
 */
export function precisionRecallF1(confusion: ConfusionMatrixResult): PrecisionRecallF1Result {
  const { matrix, classes } = confusion;
  if (!Number.isInteger(classes) || classes < 1 || matrix.length !== classes * classes) {
    throw new MetricsError(
      'precisionRecallF1',
      `expected a ${classes}×${classes} confusion matrix, got ${matrix.length} cells`,
    );
  }
  const precision = new Float64Array(classes);
  const recall = new Float64Array(classes);
  const f1 = new Float64Array(classes);
  const support = new Int32Array(classes);
  let total = 0;
  let correct = 0;
  for (let c = 0; c < classes; c++) {
    let rowSum = 0;
    let colSum = 0;
    for (let k = 0; k < classes; k++) {
      rowSum += matrix[c * classes + k];
      colSum += matrix[k * classes + c];
    }
    const tp = matrix[c * classes + c];
    precision[c] = ratio(tp, colSum);
    recall[c] = ratio(tp, rowSum);
    f1[c] = ratio(2 * tp, rowSum + colSum);
    support[c] = rowSum;
    total += rowSum;
    correct += tp;
  }
  const mean = (values: Float64Array, weights?: Int32Array): number => {
    let sum = 0;
    for (let c = 0; c < classes; c++) sum += values[c] * (weights ? weights[c] : 1);
    return weights ? ratio(sum, total) : sum / classes;
  };
  const accuracy = ratio(correct, total);
  return {
    classes,
    precision,
    recall,
    f1,
    support,
    macro: { precision: mean(precision), recall: mean(recall), f1: mean(f1), support: total },
    weighted: {
      precision: mean(precision, support),
      recall: mean(recall, support),
      f1: mean(f1, support),
      support: total,
    },
    micro: { precision: accuracy, recall: accuracy, f1: accuracy, support: total },
    accuracy,
  };
}

/** Stateful per-class precision, recall and F1 (keeps a {@link ConfusionMatrix} inside). */
export class PrecisionRecallF1 implements LabelMetric<PrecisionRecallF1Result> {
  readonly classes: number;
  /** The confusion matrix the scores are computed from. */
  readonly confusion: ConfusionMatrix;

  constructor(classes: number) {
    this.confusion = new ConfusionMatrix(classes);
    this.classes = classes;
  }

  update(scores: Scores, target: Labels): void {
    this.confusion.update(scores, target);
  }

  updateLabels(pred: Labels, target: Labels): void {
    this.confusion.updateLabels(pred, target);
  }

  compute(): PrecisionRecallF1Result {
    return precisionRecallF1(this.confusion.compute());
  }

  reset(): void {
    this.confusion.reset();
  }

  merge(other: this): this {
    checkMergeable('PrecisionRecallF1.merge', this, other);
    this.confusion.merge(other.confusion);
    return this;
  }
}
