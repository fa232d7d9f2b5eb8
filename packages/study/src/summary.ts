// What a study's results say: per arm, test accuracy over seeds and learning curves; per
// comparison, the paired difference with its interval, test and verdict in words.
import { StudyError } from './errors.js';
import { describeSample, type PairedTestResult, pairedTest, type SampleStats } from './stats.js';
import type { JobEpoch, JobResult, StudyDefinition } from './types.js';

/** Mean and spread of one figure over the jobs that have it. */
export interface MeanSd {
  n: number;
  mean: number;
  /** Sample standard deviation (n − 1); null for one job. */
  sd: number | null;
}

/** One epoch of an arm's learning curves, over the seeds that finished. */
export interface EpochSummary {
  epoch: number;
  /** Finished jobs whose history has this epoch. */
  n: number;
  loss: MeanSd;
  accuracy: MeanSd;
  valLoss?: MeanSd;
  valAccuracy?: MeanSd;
}

/** How an arm's (or the study's) jobs ended. */
export interface JobCounts {
  /** Arms × seeds the study defines. */
  planned: number;
  done: number;
  failed: number;
  /** Planned jobs with no result (not run yet, or abandoned). */
  missing: number;
}

/** One arm over its seeds. Failed jobs are counted, never part of the figures. */
export interface ArmSummary {
  name: string;
  description?: string;
  /** The preset name, or the inline spec's name. */
  model: string;
  jobs: JobCounts;
  /** Seeds whose job finished, ascending. */
  seeds: number[];
  /** Test accuracy (a fraction) over the finished seeds. */
  testAccuracy: SampleStats;
  testLoss: SampleStats;
  curves: EpochSummary[];
}

/** What a comparison found: `a` better, `b` better, no difference detected, or too little data. */
export type ComparisonOutcome = 'a-better' | 'b-better' | 'no-difference' | 'insufficient';

/** Arm `a` against arm `b` on test accuracy, paired by seed. */
export interface ComparisonSummary {
  a: string;
  b: string;
  question?: string;
  metric: 'testAccuracy';
  /** Seeds both arms finished, ascending: the pairs. */
  seeds: number[];
  pairs: number;
  /** Mean test accuracy of each arm over the paired seeds; null without pairs. */
  meanA: number | null;
  meanB: number | null;
  /** meanA − meanB (the mean per-seed difference), a fraction; null without pairs. */
  difference: number | null;
  /** 95 % CI of the difference (paired t); null below 2 pairs or without spread. */
  ci95: [number, number] | null;
  test: PairedTestResult;
  outcome: ComparisonOutcome;
  /** The answer in plain words, in percentage points. */
  verdict: string;
}

/** A failed job as the report lists it. */
export interface FailedJob {
  arm: string;
  seed: number;
  id: string;
  code: string;
  message: string;
  kind: 'input' | 'failure';
}

/** Everything {@link summarizeStudy} works out of a study's results. */
export interface StudySummary {
  study: string;
  jobs: JobCounts;
  arms: ArmSummary[];
  comparisons: ComparisonSummary[];
  failed: FailedJob[];
  /** Level of the tests and intervals: a difference is reported as detected when p < alpha. */
  alpha: number;
}

/** Two-sided level of every test and interval in a summary (95 % intervals). */
const ALPHA = 0.05;

function invalid(study: string, message: string): never {
  throw new StudyError('STUDY_FAILED', `study '${study}' results: ${message}`);
}

function meanSd(values: readonly number[]): MeanSd {
  const s = describeSample(values);
  return { n: s.n, mean: s.mean ?? 0, sd: s.sd };
}

/** Per-epoch mean and sd of each figure over the given histories (only where a history has it). */
function learningCurves(histories: readonly (readonly JobEpoch[])[]): EpochSummary[] {
  const byEpoch = new Map<number, JobEpoch[]>();
  for (const history of histories)
    for (const e of history) {
      const list = byEpoch.get(e.epoch) ?? [];
      list.push(e);
      byEpoch.set(e.epoch, list);
    }
  const finite = (list: JobEpoch[], key: 'loss' | 'accuracy' | 'valLoss' | 'valAccuracy') =>
    list.map((e) => e[key]).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  return [...byEpoch.entries()]
    .sort(([a], [b]) => a - b)
    .map(([epoch, list]) => {
      const valLoss = finite(list, 'valLoss');
      const valAccuracy = finite(list, 'valAccuracy');
      return {
        epoch,
        n: list.length,
        loss: meanSd(finite(list, 'loss')),
        accuracy: meanSd(finite(list, 'accuracy')),
        ...(valLoss.length > 0 ? { valLoss: meanSd(valLoss) } : {}),
        ...(valAccuracy.length > 0 ? { valAccuracy: meanSd(valAccuracy) } : {}),
      };
    });
}

/** Checks that every result belongs to this study, once per arm × seed, and indexes them. */
function indexResults(study: StudyDefinition, results: readonly JobResult[]): Map<string, JobResult> {
  const arms = new Set(study.arms.map((a) => a.name));
  const seeds = new Set(study.seeds);
  const byKey = new Map<string, JobResult>();
  for (const [i, r] of results.entries()) {
    if (r.study !== study.name) invalid(study.name, `results[${i}] belongs to study '${r.study}'`);
    if (!arms.has(r.arm))
      invalid(study.name, `results[${i}] is for arm '${r.arm}', which the study does not have`);
    if (!seeds.has(r.seed))
      invalid(study.name, `results[${i}] (${r.arm}) has seed ${r.seed}, not one of the study's`);
    const key = `${r.arm}\u0000${r.seed}`;
    if (byKey.has(key)) invalid(study.name, `arm '${r.arm}' seed ${r.seed} has two results`);
    if (r.status === 'done' && !(typeof r.testAccuracy === 'number' && Number.isFinite(r.testAccuracy)))
      invalid(study.name, `results[${i}] (${r.arm}, seed ${r.seed}) is done but has no test accuracy`);
    byKey.set(key, r);
  }
  return byKey;
}

/**
 * Summarises a study's job results: per arm the jobs done, failed and missing, test accuracy
 * (and loss) over the finished seeds with a Student-t 95 % CI, and learning curves (mean and sd
 * over seeds per epoch); per comparison the difference of means a − b with its 95 % CI, a
 * paired test and a verdict in words. Failed jobs are counted and listed but never enter a figure.
 *
 * The test is the paired t-test on the per-seed differences a − b, over the seeds both arms
 * finished. Seeds pair the arms: the same seed gives both arms the same shuffling order,
 * validation split and augmentation, so much of the seed-to-seed spread (e.g. 75–90 % after one
 * epoch) is shared by the pair and cancels in the difference; testing the differences removes
 * it, where an unpaired test would count it as noise. With 5 seeds a Wilcoxon signed-rank test
 * cannot reach p < 0.0625 (its smallest two-sided p is 2/2⁵), so it cannot detect anything at the
 * usual 5 % level and is not used. A difference is reported as detected when p < 0.05, which is
 * when its 95 % CI excludes 0. Tests are per comparison, not corrected for multiple comparisons.
 *
 * Throws a {@link StudyError} (`STUDY_FAILED`) for results that do not belong to the study: another
 * study's, an unknown arm or seed, two results for one arm and seed, or a done job without a test
 * accuracy.
 */
export function summarizeStudy(study: StudyDefinition, results: readonly JobResult[]): StudySummary {
  const byKey = indexResults(study, results);
  const get = (arm: string, seed: number) => byKey.get(`${arm}\u0000${seed}`);
  const seeds = [...study.seeds].sort((a, b) => a - b);

  const arms: ArmSummary[] = study.arms.map((arm) => {
    const own = seeds.map((seed) => get(arm.name, seed)).filter((r): r is JobResult => r !== undefined);
    const done = own.filter((r) => r.status === 'done');
    const failed = own.filter((r) => r.status === 'failed').length;
    const losses = done
      .map((r) => r.testLoss)
      .filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
    return {
      name: arm.name,
      ...(arm.description ? { description: arm.description } : {}),
      model: typeof arm.model === 'string' ? arm.model : arm.model.name,
      jobs: { planned: seeds.length, done: done.length, failed, missing: seeds.length - own.length },
      seeds: done.map((r) => r.seed),
      testAccuracy: describeSample(done.map((r) => r.testAccuracy!)),
      testLoss: describeSample(losses),
      curves: learningCurves(done.map((r) => r.history)),
    };
  });

  const comparisons = study.comparisons.map((c) => compare(c, seeds, get));
  const failed: FailedJob[] = results
    .filter((r) => r.status === 'failed')
    .map((r) => ({
      arm: r.arm,
      seed: r.seed,
      id: r.id,
      code: r.error?.code ?? 'JOB_FAILED',
      message: r.error?.message ?? 'no reason was recorded',
      kind: r.error?.kind ?? 'failure',
    }))
    .sort((x, y) => (x.arm === y.arm ? x.seed - y.seed : x.arm < y.arm ? -1 : 1));
  const sum = (key: keyof JobCounts) => arms.reduce((total, a) => total + a.jobs[key], 0);
  return {
    study: study.name,
    jobs: { planned: sum('planned'), done: sum('done'), failed: sum('failed'), missing: sum('missing') },
    arms,
    comparisons,
    failed,
    alpha: ALPHA,
  };
}

function compare(
  c: StudyDefinition['comparisons'][number],
  seeds: readonly number[],
  get: (arm: string, seed: number) => JobResult | undefined,
): ComparisonSummary {
  const paired = seeds.filter((s) => get(c.a, s)?.status === 'done' && get(c.b, s)?.status === 'done');
  const a = paired.map((s) => get(c.a, s)!.testAccuracy!);
  const b = paired.map((s) => get(c.b, s)!.testAccuracy!);
  const test = pairedTest(a, b);
  const meanOf = (xs: number[]) => (xs.length === 0 ? null : xs.reduce((x, y) => x + y, 0) / xs.length);
  const outcome: ComparisonOutcome =
    test.p !== null
      ? test.p < ALPHA
        ? test.meanDiff! > 0
          ? 'a-better'
          : 'b-better'
        : 'no-difference'
      : test.degenerate === 'constant-difference'
        ? test.meanDiff! > 0
          ? 'a-better'
          : 'b-better'
        : 'insufficient';
  return {
    a: c.a,
    b: c.b,
    ...(c.question ? { question: c.question } : {}),
    metric: 'testAccuracy',
    seeds: paired,
    pairs: paired.length,
    meanA: meanOf(a),
    meanB: meanOf(b),
    difference: test.meanDiff,
    ci95: test.ci95,
    test,
    outcome,
    verdict: verdict(c.a, c.b, test),
  };
}

/** A number in text: the minus sign `−`, `digits` decimals. */
export function formatSigned(x: number, digits: number): string {
  const text = Math.abs(x).toFixed(digits);
  return x < 0 && Number(text) !== 0 ? `−${text}` : text;
}

/** A p-value in text: 2 significant digits, `< 0.0001` below that. */
export function formatP(p: number): string {
  return p < 0.0001 ? '< 0.0001' : `= ${Number(p.toPrecision(2))}`;
}

/** Decimals for differences in points: 2 when the figures are under a point or so, else 1. */
function pointDigits(test: PairedTestResult): number {
  const half = test.ci95 ? (test.ci95[1] - test.ci95[0]) * 50 : Math.abs(test.meanDiff ?? 0) * 100;
  return half < 0.5 ? 2 : 1;
}

function verdict(a: string, b: string, test: PairedTestResult): string {
  if (test.n === 0) return `no seed finished in both ${a} and ${b}: nothing to compare`;
  const d = test.meanDiff! * 100;
  const digits = pointDigits(test);
  const seeds = `${test.n} ${test.n === 1 ? 'seed' : 'seeds'}`;
  // The arm ahead is named first, so that "N points above" and its interval are both positive.
  const aAhead = d >= 0;
  const [first, second] = aAhead ? [a, b] : [b, a];
  const gap = `${first} is ${formatSigned(Math.abs(d), digits)} points above ${second}`;
  switch (test.degenerate) {
    case 'one-pair':
      return d === 0
        ? `${a} and ${b} have the same test accuracy on the one seed both finished (1 pair: no interval and no test; more seeds are needed)`
        : `${gap} on the one seed both finished (1 pair: no interval and no test; more seeds are needed)`;
    case 'identical':
      return `no difference: ${a} and ${b} have the same test accuracy on each of the ${seeds}`;
    case 'constant-difference':
      return `${gap} on every one of the ${seeds}, by the same amount each time (no spread: no interval and no test)`;
  }
  // The interval of first − second: a − b, or b − a (negated, so its ends swap) when b is ahead.
  const [lo, hi] = aAhead ? test.ci95! : [-test.ci95![1], -test.ci95![0]];
  const ci = (low: number, high: number) =>
    `95 % CI ${formatSigned(low * 100, digits)} to ${formatSigned(high * 100, digits)}`;
  const tail = `paired t-test p ${formatP(test.p!)}, ${seeds}`;
  if (test.p! < ALPHA) return `${gap} (${ci(lo, hi)}, ${tail})`;
  return `no difference detectable at this budget: ${a} − ${b} = ${formatSigned(d, digits)} points (${ci(test.ci95![0], test.ci95![1])}, ${tail})`;
}
