import { argmax } from './argmax.js';
import { MetricsError } from './errors.js';
import type { LabelMetric, Metric } from './metric.js';
import type { Labels, Scores } from './validate.js';
import { checkClassCount, checkLabels, checkMergeable, checkSameLength, checkScores } from './validate.js';

/**
 * Fraction of samples whose predicted class (the arg-max of the scores, ties to the lowest index)
 * equals the true class.
 */
export class Accuracy implements LabelMetric<number> {
  readonly classes: number;
  private correct = 0;
  private total = 0;

  constructor(classes: number) {
    checkClassCount('Accuracy', classes);
    this.classes = classes;
  }

  /** Number of samples added so far. */
  get count(): number {
    return this.total;
  }

  update(scores: Scores, target: Labels): void {
    checkLabels('Accuracy.update', 'target', target, this.classes);
    checkScores('Accuracy.update', scores, target, this.classes);
    this.addLabels(argmax(scores, this.classes), target);
  }

  updateLabels(pred: Labels, target: Labels): void {
    checkSameLength('Accuracy.updateLabels', pred, target);
    checkLabels('Accuracy.updateLabels', 'pred', pred, this.classes);
    checkLabels('Accuracy.updateLabels', 'target', target, this.classes);
    this.addLabels(pred, target);
  }

  /** Throws a `MetricsError` when no sample was added: an accuracy of nothing is undefined. */
  compute(): number {
    if (this.total === 0)
      throw new MetricsError('Accuracy.compute', 'no samples were added (call update first)');
    return this.correct / this.total;
  }

  reset(): void {
    this.correct = 0;
    this.total = 0;
  }

  merge(other: this): this {
    checkMergeable('Accuracy.merge', this, other);
    this.correct += other.correct;
    this.total += other.total;
    return this;
  }

  private addLabels(pred: Labels, target: Labels): void {
    let correct = 0;
    for (let i = 0; i < target.length; i++) if (pred[i] === target[i]) correct++;
    this.correct += correct;
    this.total += target.length;
  }
}

/**
 * Fraction of samples whose true class is among the `k` highest scores. A class ranks above the
 * true class when its score is higher, or equal and its index lower, so `k = 1` agrees exactly
 * with {@link Accuracy}.
 */
export class TopKAccuracy implements Metric<number> {
  readonly classes: number;
  readonly k: number;
  private hits = 0;
  private total = 0;

  constructor(classes: number, k: number) {
    checkClassCount('TopKAccuracy', classes);
    if (!Number.isInteger(k) || k < 1) {
      throw new MetricsError('TopKAccuracy', `k must be an integer >= 1, got ${k}`);
    }
    if (k > classes) {
      throw new MetricsError('TopKAccuracy', `k = ${k} is larger than the class count ${classes}`);
    }
    this.classes = classes;
    this.k = k;
  }

  /** Number of samples added so far. */
  get count(): number {
    return this.total;
  }

  update(scores: Scores, target: Labels): void {
    checkLabels('TopKAccuracy.update', 'target', target, this.classes);
    checkScores('TopKAccuracy.update', scores, target, this.classes);
    const { classes, k } = this;
    let hits = 0;
    for (let row = 0; row < target.length; row++) {
      const base = row * classes;
      const t = target[row];
      const st = scores[base + t];
      let rank = 0;
      for (let c = 0; c < classes && rank < k; c++) {
        const s = scores[base + c];
        if (s > st || (s === st && c < t)) rank++;
      }
      if (rank < k) hits++;
    }
    this.hits += hits;
    this.total += target.length;
  }

  /** Throws a `MetricsError` when no sample was added. */
  compute(): number {
    if (this.total === 0) {
      throw new MetricsError('TopKAccuracy.compute', 'no samples were added (call update first)');
    }
    return this.hits / this.total;
  }

  reset(): void {
    this.hits = 0;
    this.total = 0;
  }

  merge(other: this): this {
    checkMergeable('TopKAccuracy.merge', this, other);
    if (other.k !== this.k) {
      throw new MetricsError('TopKAccuracy.merge', `cannot merge top-${other.k} into top-${this.k} accuracy`);
    }
    this.hits += other.hits;
    this.total += other.total;
    return this;
  }
}
