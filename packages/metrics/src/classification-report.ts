import type { ConfusionMatrixResult } from './confusion-matrix.js';
import { ConfusionMatrix } from './confusion-matrix.js';
import { MetricsError } from './errors.js';
import { formatFixed, padLeft } from './format.js';
import type { AveragedScores, PrecisionRecallF1Result } from './precision-recall-f1.js';
import { PrecisionRecallF1, precisionRecallF1 } from './precision-recall-f1.js';

/** Options of {@link classificationReport}. */
export interface ClassificationReportOptions {
  /** Decimals of the scores; default 2, as scikit-learn. */
  digits?: number;
}

/** What a classification report can be made from. */
export type ClassificationReportSource =
  | ConfusionMatrix
  | PrecisionRecallF1
  | ConfusionMatrixResult
  | PrecisionRecallF1Result;

function toScores(source: ClassificationReportSource): PrecisionRecallF1Result {
  if (source instanceof PrecisionRecallF1) return source.compute();
  if (source instanceof ConfusionMatrix) return precisionRecallF1(source.compute());
  if ('matrix' in source) return precisionRecallF1(source);
  return source;
}

/**
 * The text report scikit-learn's `classification_report(y_true, y_pred, labels=range(classes),
 * target_names=classNames, digits=digits)` prints, character for character: a header, one row per
 * class (precision, recall, f1-score, support), a blank line, then `accuracy`, `macro avg` and
 * `weighted avg`. Ends with a newline. `classNames` defaults to the class indices.
 */
export function classificationReport(
  source: ClassificationReportSource,
  classNames?: readonly string[],
  options: ClassificationReportOptions = {},
): string {
  const context = 'classificationReport';
  const digits = options.digits ?? 2;
  if (!Number.isInteger(digits) || digits < 0 || digits > 20) {
    throw new MetricsError(context, `digits must be an integer in [0, 20], got ${digits}`);
  }
  const scores = toScores(source);
  const { classes } = scores;
  const names = classNames ?? Array.from({ length: classes }, (_, i) => String(i));
  if (names.length !== classes) {
    throw new MetricsError(context, `${names.length} class names given for ${classes} classes`);
  }
  const lastHeading = 'weighted avg';
  const width = Math.max(...names.map((n) => n.length), lastHeading.length, digits);
  const num = (x: number) => ` ${padLeft(formatFixed(x, digits), 9)}`;
  const int = (x: number) => ` ${padLeft(String(x), 9)}`;
  const row = (name: string, p: number, r: number, f: number, s: number) =>
    `${padLeft(name, width)} ${num(p)}${num(r)}${num(f)}${int(s)}\n`;
  const avgRow = (name: string, a: AveragedScores) => row(name, a.precision, a.recall, a.f1, a.support);

  let report = `${padLeft('', width)} ${['precision', 'recall', 'f1-score', 'support'].map((h) => ` ${padLeft(h, 9)}`).join('')}`;
  report += '\n\n';
  for (let c = 0; c < classes; c++) {
    report += row(names[c], scores.precision[c], scores.recall[c], scores.f1[c], scores.support[c]);
  }
  report += '\n';
  report += `${padLeft('accuracy', width)} ${' '.repeat(20)}${num(scores.accuracy)}${int(scores.micro.support)}\n`;
  report += avgRow('macro avg', scores.macro);
  report += avgRow(lastHeading, scores.weighted);
  return report;
}
