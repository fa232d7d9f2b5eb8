import { Bench } from 'tinybench';
import type { Timing } from './profiles.js';
import type { Latency } from './types.js';

/** What one tinybench task measured. */
export interface Measured {
  latencyMs: Latency;
  /** Relative margin of error of the mean, percent. */
  rme: number;
  iterations: number;
}

/**
 * Times `fn` (one iteration = one batch; it must end with a host sync so the time is real) with
 * tinybench: `timing.warmupIterations` untimed calls (and until `timing.warmupTimeMs` has passed),
 * then at least `timing.iterations` timed ones
 * and until `timing.timeMs` has passed.
 */
export async function measure(name: string, fn: () => Promise<void>, timing: Timing): Promise<Measured> {
  const bench = new Bench({
    name,
    iterations: timing.iterations,
    time: timing.timeMs,
    warmup: timing.warmupIterations > 0 || (timing.warmupTimeMs ?? 0) > 0,
    warmupIterations: timing.warmupIterations,
    warmupTime: timing.warmupTimeMs ?? 0,
    throws: true,
  });
  bench.add(name, fn);
  const [task] = await bench.run();
  const result = task.result;
  if (result.state !== 'completed') {
    const why = result.state === 'errored' ? result.error.message : result.state;
    throw new Error(`${name}: tinybench task ${why}`);
  }
  const { latency } = result;
  return {
    latencyMs: { mean: latency.mean, p50: latency.p50, p99: latency.p99 },
    rme: Number.isFinite(latency.rme) ? latency.rme : 0,
    iterations: latency.samplesCount,
  };
}

/** Samples per second from a batch size and a mean latency in milliseconds. */
export function samplesPerSecond(batch: number, meanMs: number): number {
  return meanMs > 0 ? (batch * 1000) / meanMs : 0;
}
