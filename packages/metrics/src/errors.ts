/**
 * The error every `@lenet/metrics` function throws for bad input: the message names the metric or
 * plot (`context`) and says what was wrong.
 */
export class MetricsError extends Error {
  /** Which metric, function or plot rejected the input, e.g. `ConfusionMatrix.update`. */
  readonly context: string;

  constructor(context: string, message: string) {
    super(`${context}: ${message}`);
    this.name = 'MetricsError';
    this.context = context;
  }
}
