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
/** The update / compute / reset / merge interface every metric implements. */
export type { LabelMetric, Metric } from './metric.js';
/** Series, points and options of `bandChart`. */
export type { BandChartOptions, BandPoint, BandSeries } from './plots/band-chart.js';
/** Lines over x, each with a shaded band (e.g. mean ± sd over seeds per epoch). */
export { bandChart } from './plots/band-chart.js';
/** Run values and options of `barChart`. */
export type { BarChartOptions, RunValue } from './plots/bar-chart.js';
/** Bar chart comparing runs, optionally grouped. */
export { barChart } from './plots/bar-chart.js';
/** Options of `confusionHeatmap`. */
export type { ConfusionHeatmapOptions } from './plots/confusion-heatmap.js';
/** Confusion-matrix heatmap with class names and counts. */
export { confusionHeatmap } from './plots/confusion-heatmap.js';
/** Options and result of `mistakesFirst`. */
export type { MistakesFirstOptions, SampleSelection } from './plots/mistakes-first.js';
/** Picks samples for a grid: the most confident mistakes first, then correct predictions. */
export { mistakesFirst } from './plots/mistakes-first.js';
/** Groups and options of `pointIntervalChart`. */
export type { PointGroup, PointIntervalChartOptions } from './plots/point-interval-chart.js';
/** Every value of each group as a point, with the group's centre and interval (e.g. mean and 95 % CI). */
export { pointIntervalChart } from './plots/point-interval-chart.js';
/** Plot spec, output paths and rendered output types. */
export type { PlotPaths, PlotSpec, RenderedPlot, WrittenPlot } from './plots/render.js';
/** A rendered-on-demand plot: spec, size, `svg()`, `png(scale)`, `write(base)`. */
/** Vega-Lite rendering helpers: spec → SVG (vega headless) → PNG (sharp), atomic file output. */
export {
  PLOT_FONT,
  Plot,
  plotConfig,
  renderPlot,
  renderSvg,
  svgToPng,
  writePlot,
} from './plots/render.js';
/** Image shape and options of `sampleGrid`. */
export type { ImageShape, SampleGridOptions } from './plots/sample-grid.js';
/** Grid of sample images with true and predicted labels, mistakes framed in red. */
export { sampleGrid } from './plots/sample-grid.js';
/** Counts the items a named Vega mark drew in an SVG (for tests of plots). */
export { countMarkItems } from './plots/svg-marks.js';
/** History shape and options of `trainingCurves`. */
export type { HistoryLike, TrainingCurvesOptions } from './plots/training-curves.js';
/** Loss/accuracy curves per epoch, train against validation. */
export { trainingCurves } from './plots/training-curves.js';
/** Result types of `precisionRecallF1`. */
export type { AveragedScores, PrecisionRecallF1Result } from './precision-recall-f1.js';
/** Per-class precision, recall, F1 and support with macro, weighted and micro averages. */
export { PrecisionRecallF1, precisionRecallF1 } from './precision-recall-f1.js';
/** Label and row-major score array types accepted by every metric. */
export type { Labels, Scores } from './validate.js';
