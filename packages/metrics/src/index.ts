/** @lenet/metrics public API. */

/** Accuracy from scores or labels, and top-k accuracy from scores. */
export { Accuracy, TopKAccuracy } from './accuracy.js';
/** Index of the largest score per row (ties to the lowest index). */
export { argmax } from './argmax.js';
/** Options and accepted inputs of `classificationReport`. */
export type { ClassificationReportOptions, ClassificationReportSource } from './classification-report.js';
/** scikit-learn's classification report, character for character. */
export { classificationReport } from './classification-report.js';
/** Confusion-matrix result and normalisation modes. */
export type { ConfusionMatrixResult, Normalization } from './confusion-matrix.js';
/** Confusion matrix (row = true, column = predicted) and its normalisation. */
export { ConfusionMatrix, normalizeConfusionMatrix } from './confusion-matrix.js';
/** Options of `CrossEntropy`. */
export type { CrossEntropyOptions } from './cross-entropy.js';
/** Mean negative log-likelihood of probabilities or logits. */
export { CrossEntropy } from './cross-entropy.js';
/** Error thrown for bad input, naming the metric or plot and what was wrong. */
export { MetricsError } from './errors.js';
/** Python-style fixed-point formatting (exact ties to even). */
export { formatFixed } from './format.js';
/** The update / compute / reset / merge interface every metric implements. */
export type { LabelMetric, Metric } from './metric.js';
/** Result types of `precisionRecallF1`. */
export type { AveragedScores, PrecisionRecallF1Result } from './precision-recall-f1.js';
/** Per-class precision, recall, F1 and support with macro, weighted and micro averages. */
export { PrecisionRecallF1, precisionRecallF1 } from './precision-recall-f1.js';
/** Label and row-major score array types accepted by every metric. */
export type { Labels, Scores } from './validate.js';
