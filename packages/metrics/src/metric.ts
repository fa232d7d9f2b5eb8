import type { Labels, Scores } from './validate.js';

/**
 * A stateful metric in the torchmetrics style: feed it batches with `update`, read the value with
 * `compute`, start over with `reset`, and combine the states of metrics filled on different
 * shards of the data with `merge` (merging two halves equals updating with the whole).
 *
 * `scores` is always a row-major `[n, classes]` matrix (probabilities or logits; `n` is
 * `target.length`, `classes` was fixed at construction) and `target` holds the true class labels.
 */
export interface Metric<T> {
  /** Number of classes, fixed at construction. */
  readonly classes: number;
  /** Adds a batch: `scores` row-major `[target.length, classes]`, `target` the true labels. */
  update(scores: Scores, target: Labels): void;
  /** The metric over everything added since construction or the last `reset`. */
  compute(): T;
  /** Forgets every sample added so far. */
  reset(): void;
  /** Adds the state of `other` (same kind and class count) to this one; returns `this`. */
  merge(other: this): this;
}

/** A metric that can also be fed predicted labels instead of scores. */
export interface LabelMetric<T> extends Metric<T> {
  /** Adds a batch of predicted labels against true labels (same length, integers in `[0, classes)`). */
  updateLabels(pred: Labels, target: Labels): void;
}
