import type { CliIo } from './io.js';

/** The stop reason of a run ended by Ctrl-C (`FitResult.stopped.reason`). */
export const INTERRUPTED = 'interrupted (Ctrl-C)';

/** Ctrl-C handling for one command: an abort signal for training, and whether it came. */
export interface Interrupt {
  /** Aborted on the first Ctrl-C, with reason {@link INTERRUPTED}. */
  readonly signal: AbortSignal;
  readonly requested: boolean;
  /** Stops listening (Ctrl-C is the default again: exit at once). */
  dispose(): void;
}

/**
 * The first Ctrl-C aborts `signal` (training stops after the current batch and saves a resumable
 * checkpoint); the second runs `beforeExit` (releasing the run lock) and exits with 130 at once.
 */
export function listenForInterrupt(
  io: CliIo,
  beforeExit: () => void,
  stopping = 'stopping after this batch',
): Interrupt {
  const controller = new AbortController();
  const onSigint = () => {
    if (controller.signal.aborted) {
      beforeExit();
      process.exit(130);
    }
    io.err(`\ninterrupted: ${stopping} (Ctrl-C again to quit now)\n`);
    controller.abort(INTERRUPTED);
  };
  process.on('SIGINT', onSigint);
  return {
    signal: controller.signal,
    get requested() {
      return controller.signal.aborted;
    },
    dispose: () => process.off('SIGINT', onSigint),
  };
}
