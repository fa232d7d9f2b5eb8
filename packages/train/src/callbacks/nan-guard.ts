import type { BatchLogs, Callback, HookResult, TrainContext } from '../callback.js';
import { TrainError } from '../errors.js';
import type { EpochLogs } from '../logs.js';

/** Options of {@link nanGuard}. */
export interface NanGuardOptions {
  /**
   * Read the device-side flag every this many steps (default 50) and at every epoch end. The
   * batch named in the message is the first bad one whatever the interval; a smaller interval only
   * stops sooner, at the cost of a device read.
   */
  checkEvery?: number;
  /** Where the message goes (default `console.error`). */
  log?: (message: string) => void;
}

/** The NaN guard; `message` holds what it reported, or null. */
export interface NanGuard extends Callback {
  readonly message: string | null;
}

/**
 * Stops training as soon as the loss has become NaN or ±Infinity, with a message naming the
 * (1-based) epoch and batch where it first happened.
 */
export function nanGuard(options: NanGuardOptions = {}): NanGuard {
  const every = options.checkEvery ?? 50;
  if (!Number.isInteger(every) || every < 1) {
    throw new TrainError('checkEvery', `nanGuard checkEvery must be a positive integer, got ${every}`);
  }
  const log = options.log ?? ((m: string) => console.error(m));
  let message: string | null = null;
  const check = async (ctx: TrainContext): Promise<HookResult> => {
    if (message !== null) return undefined;
    const bad = await ctx.firstNonFinite();
    if (!bad) return undefined;
    message = `loss became NaN or infinite at epoch ${bad.epoch + 1}, batch ${bad.batch + 1} (step ${bad.step + 1}); stopping`;
    log(message);
    return { stop: true, reason: message };
  };
  return {
    name: 'nanGuard',
    get message() {
      return message;
    },
    async onBatchEnd(_batch: number, logs: BatchLogs, ctx: TrainContext) {
      return (logs.step + 1) % every === 0 ? check(ctx) : undefined;
    },
    async onEpochEnd(_epoch: number, _logs: EpochLogs, ctx: TrainContext) {
      return check(ctx);
    },
  };
}
