import type { Callback, TrainContext } from '../callback.js';
import { type DropoutLayer, dropoutLayers } from '../dropout.js';
import { TrainError } from '../errors.js';

/** Options of {@link earlyDropout}. */
export interface EarlyDropoutOptions {
  /** Epochs (from the start of training, resumed ones included) during which dropout is active. */
  epochs: number;
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
  let layers: DropoutLayer[] = [];
  let rates: (number | undefined)[] = [];
  return {
    name: 'earlyDropout',
    onTrainBegin(ctx: TrainContext) {
      layers = dropoutLayers(ctx.model, { withRate: true });
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
