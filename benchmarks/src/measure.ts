import { describeSample } from '@lenet/study';
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
export async function measure(name: string, fn: () => Promise<unknown>, timing: Timing): Promise<Measured> {
  return latencyOf(await timedSamples(name, fn, timing));
}

// `fn` may return tinybench's `{ overriddenDuration }` (ms) in place of the measured time (tests do).
async function timedSamples(name: string, fn: () => Promise<unknown>, timing: Timing): Promise<number[]> {
  const bench = new Bench({
    name,
    iterations: timing.iterations,
    time: timing.timeMs,
    warmup: timing.warmupIterations > 0 || (timing.warmupTimeMs ?? 0) > 0,
    warmupIterations: timing.warmupIterations,
    warmupTime: timing.warmupTimeMs ?? 0,
    retainSamples: true,
    throws: true,
  });
  bench.add(name, fn);
  const [task] = await bench.run();
  const result = task.result;
  if (result.state !== 'completed') {
    const why = result.state === 'errored' ? result.error.message : result.state;
    throw new Error(`${name}: tinybench task ${why}`);
  }
  const samples = result.latency.samples;
  if (!samples?.length) throw new Error(`${name}: tinybench kept no samples`);
  return [...samples];
}

/** The median of a non-empty list. */
export function median(values: readonly number[]): number {
  const v = [...values].sort((a, b) => a - b);
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

/** The mean of a non-empty list (a round's ms per batch, where the rest of `latencyOf` is not needed). */
export function meanOf(values: readonly number[]): number {
  let sum = 0;
  for (const v of values) sum += v;
  return sum / values.length;
}

/** Linear interpolation between closest ranks of an ascending list (as tinybench and NumPy do). */
function quantile(sorted: readonly number[], p: number): number {
  const pos = (sorted.length - 1) * p;
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/**
 * Mean, median, p99 and the 95 % relative margin of error of the mean (Student t) of per-iteration
 * times in ms: the one place the bench turns samples into a cell's figures, for its own timings and
 * for PyTorch's.
 */
export function latencyOf(samples: readonly number[]): Measured {
  if (samples.length === 0) throw new Error('latencyOf: no samples');
  const stats = describeSample(samples);
  const mean = stats.mean ?? 0;
  const sorted = [...samples].sort((a, b) => a - b);
  const rme = stats.ci95 && mean > 0 ? ((stats.ci95[1] - mean) / mean) * 100 : 0;
  return {
    latencyMs: { mean, p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99) },
    rme,
    iterations: samples.length,
  };
}

/**
 * Round `index` (from 0) of `rounds` of a cell measured in rounds: its share of the timed
 * iterations and time, and the warm-up only in the first round (the model stays warm after it).
 */
export function roundTiming(timing: Timing, index: number, rounds: number): Timing {
  return {
    iterations: Math.max(1, Math.ceil(timing.iterations / rounds)),
    timeMs: timing.timeMs / rounds,
    warmupIterations: index === 0 ? timing.warmupIterations : 0,
    ...(index === 0 && timing.warmupTimeMs !== undefined ? { warmupTimeMs: timing.warmupTimeMs } : {}),
  };
}

/**
 * The other side of a paired measurement (the PyTorch column): `round(i)` times its same cell
 * right after ours and returns its mean ms per batch in that round.
 */
export interface RoundPartner {
  readonly rounds: number;
  round(index: number): Promise<number>;
}

/** Lends a cell its partner (PyTorch's same cell, see `pytorchPhase`), or undefined where there is none. */
export type PartnerFor = (
  task: 'train' | 'infer',
  model: string,
  batch: number,
  withBackend: string,
) => RoundPartner | undefined;

/** A cell measured in rounds against a partner: ours pooled, and ours ÷ partner per round. */
export interface PairedMeasured extends Measured {
  /** samples/s ours ÷ partner's, one per round (ms partner ÷ ms ours), in round order. */
  ratios: number[];
  /** Why pairing stopped early (the partner threw); the rounds before it still count. */
  partnerError?: string;
}

/**
 * Times `fn` in `partner.rounds` rounds, each of {@link roundTiming}'s share and followed at once
 * by the partner's round, so that both sides of each ratio see the machine in the same state
 * (seconds apart, where separate phases are minutes apart). A partner that throws stops the
 * pairing, not the measurement: the remaining rounds are ours alone.
 */
export async function measureRounds(
  name: string,
  fn: () => Promise<unknown>,
  timing: Timing,
  partner: RoundPartner,
): Promise<PairedMeasured> {
  const all: number[] = [];
  const ratios: number[] = [];
  let partnerError: string | undefined;
  for (let i = 0; i < partner.rounds; i++) {
    const ours = await timedSamples(name, fn, roundTiming(timing, i, partner.rounds));
    all.push(...ours);
    if (partnerError !== undefined) continue;
    try {
      const theirs = await partner.round(i);
      ratios.push(theirs / meanOf(ours));
    } catch (err) {
      partnerError = err instanceof Error ? err.message : String(err);
    }
  }
  return { ...latencyOf(all), ratios, ...(partnerError !== undefined ? { partnerError } : {}) };
}

/** Samples per second from a batch size and a mean latency in milliseconds. */
export function samplesPerSecond(batch: number, meanMs: number): number {
  return meanMs > 0 ? (batch * 1000) / meanMs : 0;
}
