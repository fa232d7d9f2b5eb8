import * as tf from './tfjs.js';

/** The loss and accuracy sums a {@link TrainSums} read back. */
export interface SumsRead {
  /** Σ per-sample loss since the last reset (NaN or ±Inf once a step was not finite). */
  loss: number;
  /** Samples classified right since the last reset. */
  correct: number;
}

/** Running sums of training steps, kept on the device so that a step reads nothing back. */
export interface TrainSums {
  /** Reads the loss and correct sums (one device read). */
  read(): Promise<SumsRead>;
  /** Sets the loss and correct sums to 0 (the first non-finite step is kept). */
  reset(): void;
  /** The first step whose loss or model output was NaN or ±Inf, or null (one device read). */
  firstNonFiniteStep(): Promise<number | null>;
}

/**
 * The sums behind {@link TrainSums}, and their one non-finite rule: a step's loss counts as
 * `loss + 0·Σoutput`, so NaN/Inf in the model output shows even where the loss clips it away
 * (cross-entropy on probabilities does), and the first step where that is not finite is kept.
 */
export class RunningSums implements TrainSums {
  private readonly loss: tf.Variable;
  private readonly correct: tf.Variable;
  private readonly firstBad: tf.Variable;
  /** Sums kept on the host since the last reset (float64; added to the device sums on read). */
  private hostLoss = 0;
  private hostCorrect = 0;
  /** The first non-finite step added on the host, or null. */
  private firstBadOnHost: number | null = null;
  /**
   * Whether the device sums may be other than 0 since the last reset: while they are not, a read
   * takes the host's alone (no TensorFlow.js op, no device read: the compiled step's sums are all
   * on the host, and the benchmarks read them after every step).
   */
  private onDevice = false;

  /**
   * `onHost`: steps added with {@link addOnHost} (the compiled step's, whose loss is computed on
   * the host) are summed in float64 on the host, without a TensorFlow.js op; otherwise they are
   * added to the device sums. Either way a run sums every step in one place, so a resumed epoch
   * adds up exactly as an uninterrupted one.
   */
  constructor(private readonly onHost = false) {
    [this.loss, this.correct, this.firstBad] = tf.tidy(() => [
      tf.variable(tf.scalar(0), false),
      tf.variable(tf.scalar(0), false),
      tf.variable(tf.scalar(-1, 'int32'), false),
    ]);
  }

  async read(): Promise<SumsRead> {
    if (!this.onDevice) return { loss: 0 + this.hostLoss, correct: 0 + this.hostCorrect };
    const both = tf.stack([this.loss, this.correct]);
    const [loss, correct] = await both.data();
    both.dispose();
    return { loss: loss + this.hostLoss, correct: correct + this.hostCorrect };
  }

  reset(): void {
    tf.tidy(() => {
      this.loss.assign(tf.scalar(0));
      this.correct.assign(tf.scalar(0));
    });
    this.hostLoss = 0;
    this.hostCorrect = 0;
    this.onDevice = false;
  }

  /** Sets the loss and correct sums to values read before (resuming an epoch mid-way). */
  restore(loss: number, correct: number): void {
    this.reset();
    if (this.onHost) {
      this.hostLoss = loss;
      this.hostCorrect = correct;
      return;
    }
    tf.tidy(() => {
      this.loss.assign(tf.scalar(loss));
      this.correct.assign(tf.scalar(correct));
    });
    this.onDevice = true;
  }

  async firstNonFiniteStep(): Promise<number | null> {
    const bad = (await this.firstBad.data())[0];
    const device = bad < 0 ? null : bad;
    if (device === null || this.firstBadOnHost === null) return device ?? this.firstBadOnHost;
    return Math.min(device, this.firstBadOnHost);
  }

  /**
   * Adds one step computed on the device: `meanLoss` over `n` samples, the sum of the model
   * output, and the correct count. Call inside `tf.tidy`.
   */
  addOnDevice(meanLoss: tf.Scalar, outputSum: tf.Scalar, correct: tf.Scalar, n: number, step: number): void {
    this.onDevice = true;
    const checked = tf.add(meanLoss, tf.mul(outputSum, 0));
    this.loss.assign(tf.add(this.loss, tf.mul(checked, n)));
    this.correct.assign(tf.add(this.correct, correct));
    const bad = tf.logicalAnd(tf.notEqual(tf.sub(checked, checked), 0), tf.less(this.firstBad, 0));
    this.firstBad.assign(tf.where<tf.Tensor>(bad, tf.scalar(step, 'int32'), this.firstBad));
  }

  /**
   * Adds one step whose scalars are already on the host (a data-parallel step sums its shards in
   * float64; the compiled step computes its loss there): Σ per-sample loss, Σ output and the
   * correct count. Call inside `tf.tidy` (with `onHost` it runs no TensorFlow.js op).
   */
  addOnHost(lossSum: number, outputSum: number, correct: number, step: number): void {
    const checked = lossSum + 0 * outputSum;
    if (!Number.isFinite(checked) && this.firstBadOnHost === null) this.firstBadOnHost = step;
    if (this.onHost) {
      this.hostLoss += checked;
      this.hostCorrect += correct;
      return;
    }
    this.onDevice = true;
    this.loss.assign(tf.add(this.loss, tf.scalar(checked)));
    this.correct.assign(tf.add(this.correct, tf.scalar(correct)));
  }

  /** Frees the variables. */
  dispose(): void {
    tf.dispose([this.loss, this.correct, this.firstBad]);
  }
}
