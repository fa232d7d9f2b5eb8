import type { Callback, TrainContext } from '../callback.js';
import { TrainError } from '../errors.js';

/** Options of {@link earlyDropout}. */
export interface EarlyDropoutOptions {
  /** Epochs (from the start of training, resumed ones included) during which dropout is active. */
  epochs: number;
}

interface DropoutLike {
  rate: number;
}

/**
 * "Early dropout" (Liu et al. 2023, "Dropout Reduces Underfitting"): dropout layers keep their rate
 * for the first `epochs` epochs and are switched off (rate 0) after that, so the last epochs train
 * the network on the activations it will see in inference. Rates are restored when training ends.
 * A function of the epoch number only, so resuming gives the same schedule. Acts on the main
 * model only: not for `fit(…, { workers > 1 })`.
 */
export function earlyDropout(options: EarlyDropoutOptions): Callback {
  const until = options?.epochs;
  if (!Number.isInteger(until) || until < 0) {
    throw new TrainError('epochs', `earlyDropout epochs must be a non-negative integer, got ${until}`);
  }
  let layers: DropoutLike[] = [];
  let rates: number[] = [];
  return {
    name: 'earlyDropout',
    onTrainBegin(ctx: TrainContext) {
      layers = ctx.model.layers
        .filter((l) => /Dropout/.test(l.getClassName()))
        .map((l) => l as unknown as DropoutLike);
      rates = layers.map((l) => l.rate);
      return undefined;
    },
    onEpochBegin(epoch: number) {
      layers.forEach((l, i) => {
        l.rate = epoch < until ? rates[i] : 0;
      });
      return undefined;
    },
    onTrainEnd() {
      layers.forEach((l, i) => {
        l.rate = rates[i];
      });
    },
  };
}
