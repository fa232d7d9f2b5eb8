import { LenetError } from '@lenet/common';

/**
 * The error every `@lenet/metrics` function throws for bad input: the message names the metric or
 * plot (`context`) and says what was wrong. Its code is always `METRICS_INPUT`, its kind `'input'`.
 */
export class MetricsError extends LenetError<'METRICS_INPUT'> {
  /** Which metric, function or plot rejected the input, e.g. `ConfusionMatrix.update`. */
  readonly context: string;

  constructor(context: string, message: string) {
    super('METRICS_INPUT', `${context}: ${message}`);
    this.name = 'MetricsError';
    this.context = context;
  }
}
