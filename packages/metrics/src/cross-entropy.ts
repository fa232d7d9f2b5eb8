import { MetricsError } from './errors.js';
import type { Metric } from './metric.js';
import type { Labels, Scores } from './validate.js';
import { checkClassCount, checkLabels, checkMergeable, checkScores } from './validate.js';

/** Options of {@link CrossEntropy}. */
export interface CrossEntropyOptions {
  /** Scores are logits (softmax applied inside, stably); default `false`: scores are probabilities. */
  fromLogits?: boolean;
  /** Probabilities are clamped to at least this before the log; default `1e-7` (as Keras). */
  epsilon?: number;
}

/** Probabilities may exceed [0, 1] by this much (float32 rounding of a softmax) before we object. */
const PROBABILITY_SLACK = 1e-5;

/**
 * Mean negative log-likelihood of the true class (categorical cross-entropy with integer targets),
 * in nats. With probabilities, `p` is clamped to `[epsilon, 1]` so a confident mistake costs at
 * most `-ln(1e-7) ≈ 16.12` instead of infinity; rows are not renormalised. With
 * `{ fromLogits: true }` it is `logsumexp(row) - row[target]`, computed stably, with no clamping.
 */
export class CrossEntropy implements Metric<number> {
  readonly classes: number;
  readonly fromLogits: boolean;
  readonly epsilon: number;
  private sum = 0;
  private total = 0;

  constructor(classes: number, options: CrossEntropyOptions = {}) {
    checkClassCount('CrossEntropy', classes);
    const epsilon = options.epsilon ?? 1e-7;
    if (!(epsilon > 0 && epsilon < 1)) {
      throw new MetricsError('CrossEntropy', `epsilon must be in (0, 1), got ${epsilon}`);
    }
    this.classes = classes;
    this.fromLogits = options.fromLogits ?? false;
    this.epsilon = epsilon;
  }

  /** Number of samples added so far. */
  get count(): number {
    return this.total;
  }

  update(scores: Scores, target: Labels): void {
    checkLabels('CrossEntropy.update', 'target', target, this.classes);
    checkScores('CrossEntropy.update', scores, target, this.classes);
    const { classes } = this;
    let sum = 0;
    for (let row = 0; row < target.length; row++) {
      const base = row * classes;
      if (this.fromLogits) {
        let max = Number.NEGATIVE_INFINITY;
        for (let c = 0; c < classes; c++) max = Math.max(max, scores[base + c]);
        let expSum = 0;
        for (let c = 0; c < classes; c++) expSum += Math.exp(scores[base + c] - max);
        sum += max + Math.log(expSum) - scores[base + target[row]];
      } else {
        for (let c = 0; c < classes; c++) {
          const p = scores[base + c];
          if (p < -PROBABILITY_SLACK || p > 1 + PROBABILITY_SLACK) {
            throw new MetricsError(
              'CrossEntropy.update',
              `scores[${base + c}] = ${p} (sample ${row}, class ${c}) is not a probability in [0, 1]; pass { fromLogits: true } for logits`,
            );
          }
        }
        sum -= Math.log(Math.min(1, Math.max(this.epsilon, scores[base + target[row]])));
      }
    }
    this.sum += sum;
    this.total += target.length;
  }

  /** Throws a `MetricsError` when no sample was added. */
  compute(): number {
    if (this.total === 0) {
      throw new MetricsError('CrossEntropy.compute', 'no samples were added (call update first)');
    }
    return this.sum / this.total;
  }

  reset(): void {
    this.sum = 0;
    this.total = 0;
  }

  merge(other: this): this {
    checkMergeable('CrossEntropy.merge', this, other);
    if (other.fromLogits !== this.fromLogits || other.epsilon !== this.epsilon) {
      throw new MetricsError(
        'CrossEntropy.merge',
        'cannot merge metrics with different fromLogits/epsilon options',
      );
    }
    this.sum += other.sum;
    this.total += other.total;
    return this;
  }
}
