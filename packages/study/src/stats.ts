// Student-t summaries of a sample and the paired t-test: what a study reports per arm and per
// comparison.
//
// The t distribution comes from stdlib (@stdlib/stats-base-dists-t-quantile and -cdf), chosen over
// jstat and `distributions` (cephes): stdlib is actively maintained, ships TypeScript types, and
// its quantile and CDF (ports of Boost's incomplete-beta inverse) agree with R's qt/pt to machine
// precision (qt(0.975, 9) = 2.262157162798205 exactly), where jstat's inverse is off by ~1e-8 and
// has no types, and `distributions` has no types either. Its cost is install size: the two
// functions pull ~230 small stdlib packages (~17 MB on disk), about a tenth of what @lenet/train
// already installs.
//
// Nothing here returns NaN: a figure that does not exist for the data (the spread of one value,
// the t statistic of differences that never vary) is null, with a `note` saying why.
import tCdf from '@stdlib/stats-base-dists-t-cdf';
import tQuantile from '@stdlib/stats-base-dists-t-quantile';

/** Mean, spread and 95 % confidence interval of one sample (Student t). */
export interface SampleStats {
  n: number;
  /** Null for an empty sample. */
  mean: number | null;
  /** Sample standard deviation (divisor n − 1); null below 2 values. */
  sd: number | null;
  /** Standard error of the mean, sd / √n; null below 2 values. */
  se: number | null;
  /** 95 % confidence interval of the mean, mean ± t(0.975, n − 1) · se; null below 2 values. */
  ci95: [number, number] | null;
  /** Why a figure is missing (fewer than 2 values), in words. */
  note?: string;
}

/** A two-sided paired t-test of `a − b` (pairs by index) and the CI of the mean difference. */
export interface PairedTestResult {
  test: 'paired t-test';
  /** Number of pairs. */
  n: number;
  /** Mean of the differences a[i] − b[i] (equal to mean(a) − mean(b)); null without pairs. */
  meanDiff: number | null;
  /** Standard deviation of the differences (n − 1); null below 2 pairs. */
  sdDiff: number | null;
  /** meanDiff / (sdDiff / √n); null where undefined (below 2 pairs, constant nonzero difference). */
  t: number | null;
  /** Degrees of freedom, n − 1; null below 2 pairs. */
  df: number | null;
  /** Two-sided p-value; null where t is. */
  p: number | null;
  /** 95 % confidence interval of the mean difference; null where t is. */
  ci95: [number, number] | null;
  /**
   * Set when the test is degenerate: fewer than 2 pairs, every pair identical (p = 1), or every
   * pair differing by the same nonzero amount (no spread: the test is undefined).
   */
  note?: string;
  /** Which degenerate case applies, for code that words its own verdict. */
  degenerate?: 'no-pairs' | 'one-pair' | 'identical' | 'constant-difference';
}

function checkFinite(context: string, name: string, xs: readonly number[]): void {
  for (let i = 0; i < xs.length; i++) {
    if (typeof xs[i] !== 'number' || !Number.isFinite(xs[i]))
      throw new RangeError(`${context}: ${name}[${i}] is ${String(xs[i])}, not a finite number`);
  }
}

function mean(xs: readonly number[]): number {
  let sum = 0;
  for (const x of xs) sum += x;
  return sum / xs.length;
}

/** Sample standard deviation around `m` (two passes: no cancellation of large squares). */
function sampleSd(xs: readonly number[], m: number): number {
  let ss = 0;
  for (const x of xs) ss += (x - m) ** 2;
  return Math.sqrt(ss / (xs.length - 1));
}

/** The t value that leaves 2.5 % in each tail with `df` degrees of freedom. */
function t975(df: number): number {
  return tQuantile(0.975, df);
}

/**
 * n, mean, sd (n − 1), standard error and the Student-t 95 % confidence interval of the mean.
 * One value has a mean but no spread and no interval; an empty sample has neither (both say so
 * in `note`). Throws a RangeError naming the index of a value that is not a finite number.
 */
export function describeSample(xs: readonly number[]): SampleStats {
  checkFinite('describeSample', 'xs', xs);
  const n = xs.length;
  if (n === 0) return { n, mean: null, sd: null, se: null, ci95: null, note: 'no values' };
  const m = mean(xs);
  if (n === 1)
    return {
      n,
      mean: m,
      sd: null,
      se: null,
      ci95: null,
      note: 'one value: no spread, so no confidence interval',
    };
  const sd = sampleSd(xs, m);
  const se = sd / Math.sqrt(n);
  const half = t975(n - 1) * se;
  return { n, mean: m, sd, se, ci95: [m - half, m + half] };
}

/**
 * Two-sided paired t-test of `a` against `b`, paired by index: a one-sample t-test of the
 * differences a[i] − b[i] against 0, with the 95 % CI of their mean (R's
 * `t.test(a, b, paired = TRUE)`). Degenerate data give no NaN: below 2 pairs there is no test
 * and no interval; when the differences do not vary (R's "data are essentially constant": their
 * standard error under 10 ε · |mean|), identical arms give t = 0, p = 1 and the interval [0, 0],
 * and a constant nonzero difference gives no t, p or interval (the test is undefined); `note`
 * says which.
 */
export function pairedTest(a: readonly number[], b: readonly number[]): PairedTestResult {
  checkFinite('pairedTest', 'a', a);
  checkFinite('pairedTest', 'b', b);
  if (a.length !== b.length)
    throw new RangeError(`pairedTest: a has ${a.length} values but b has ${b.length}; they pair by index`);
  const n = a.length;
  const test = 'paired t-test' as const;
  const none = { t: null, df: null, p: null, ci95: null };
  if (n === 0)
    return { test, n, meanDiff: null, sdDiff: null, ...none, note: 'no pairs', degenerate: 'no-pairs' };
  const diffs = a.map((x, i) => x - b[i]);
  const meanDiff = mean(diffs);
  if (n === 1)
    return {
      test,
      n,
      meanDiff,
      sdDiff: null,
      ...none,
      note: 'one pair: no spread, so no test and no confidence interval',
      degenerate: 'one-pair',
    };
  const sdDiff = sampleSd(diffs, meanDiff);
  const se = sdDiff / Math.sqrt(n);
  const df = n - 1;
  if (diffs.every((d) => d === 0))
    return {
      test,
      n,
      meanDiff: 0,
      sdDiff: 0,
      t: 0,
      df,
      p: 1,
      ci95: [0, 0],
      note: 'every pair is identical: difference 0, p = 1',
      degenerate: 'identical',
    };
  if (se < 10 * Number.EPSILON * Math.abs(meanDiff))
    return {
      test,
      n,
      meanDiff,
      sdDiff,
      ...none,
      df,
      note: `every pair differs by the same amount (${Number(meanDiff.toPrecision(6))}): no spread, so the t-test is undefined`,
      degenerate: 'constant-difference',
    };
  const t = meanDiff / se;
  // Two-sided: twice the lower tail of −|t| (no 1 − cdf cancellation for large |t|).
  const p = Math.min(1, 2 * tCdf(-Math.abs(t), df));
  const half = t975(df) * se;
  return { test, n, meanDiff, sdDiff, t, df, p, ci95: [meanDiff - half, meanDiff + half] };
}
