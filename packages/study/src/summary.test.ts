import { describe, expect, it } from 'vitest';
import { summarizeStudy } from './summary.js';
import { done, results, study } from './testing/study-results.js';

describe('summarizeStudy', () => {
  const summary = summarizeStudy(study, results);

  it('counts jobs per arm and in all, failed and missing ones too', () => {
    expect(summary.study).toBe('bn-test');
    expect(summary.jobs).toEqual({ planned: 20, done: 15, failed: 1, missing: 4 });
    expect(summary.arms.map((a) => [a.name, a.model, a.jobs, a.seeds])).toEqual([
      ['with-bn', 'lenet5-bn', { planned: 5, done: 5, failed: 0, missing: 0 }, [1, 2, 3, 4, 5]],
      ['no-bn', 'lenet5', { planned: 5, done: 4, failed: 1, missing: 0 }, [1, 2, 3, 4]],
      ['dropout', 'lenet5-dropout', { planned: 5, done: 5, failed: 0, missing: 0 }, [1, 2, 3, 4, 5]],
      ['tiny', 'lenet1', { planned: 5, done: 1, failed: 0, missing: 4 }, [1]],
    ]);
    expect(summary.failed).toEqual([
      {
        arm: 'no-bn',
        seed: 5,
        id: 'no-bn-5',
        code: 'DATASET_MISSING',
        message: "cannot read '/home/ann/data/mnist/t10k-images-idx3-ubyte': no such file",
        kind: 'input',
      },
    ]);
  });

  it('describes test accuracy per arm over the finished seeds only', () => {
    const [withBn, noBn, , tiny] = summary.arms;
    expect(withBn.testAccuracy.n).toBe(5);
    expect(withBn.testAccuracy.mean).toBeCloseTo(0.972, 12);
    expect(withBn.testAccuracy.sd).toBeCloseTo(0.005700877125495695, 12);
    expect(withBn.testAccuracy.ci95![0]).toBeCloseTo(0.9649214261150885, 12);
    expect(withBn.testAccuracy.ci95![1]).toBeCloseTo(0.9790785738849113, 12);
    // the failed seed 5 (accuracy 0 in its record) is not part of no-bn's figures
    expect(noBn.testAccuracy.n).toBe(4);
    expect(noBn.testAccuracy.mean).toBeCloseTo(0.92525, 12);
    expect(noBn.testAccuracy.ci95![0]).toBeCloseTo(0.9048983035688437, 12);
    expect(noBn.testAccuracy.ci95![1]).toBeCloseTo(0.9456016964311563, 12);
    expect(noBn.testLoss.mean).toBeCloseTo(1 - 0.92525, 12);
    expect(tiny.testAccuracy).toEqual({
      n: 1,
      mean: 0.95,
      sd: null,
      se: null,
      ci95: null,
      note: 'one value: no spread, so no confidence interval',
    });
  });

  it('averages the learning curves over seeds per epoch, validation figures where present', () => {
    const [withBn, noBn] = summary.arms;
    expect(withBn.curves.map((e) => [e.epoch, e.n])).toEqual([
      [1, 5],
      [2, 5],
    ]);
    const sd1to5 = Math.sqrt(2.5) / 100; // sd of seed / 100 over seeds 1..5
    expect(withBn.curves[1].loss.mean).toBeCloseTo(0.33, 12);
    expect(withBn.curves[1].loss.sd).toBeCloseTo(sd1to5, 12);
    expect(withBn.curves[0].valAccuracy!.mean).toBeCloseTo(0.88, 12);
    expect(withBn.curves[0].valAccuracy!.n).toBe(5);
    // no-bn: seeds 1..4 only (the failed job's first epoch is left out), and no validation
    expect(noBn.curves[0].n).toBe(4);
    expect(noBn.curves[0].accuracy.mean).toBeCloseTo(0.825, 12);
    expect(noBn.curves[0].accuracy.sd).toBeCloseTo(Math.sqrt(5 / 3) / 100, 12);
    expect(noBn.curves[0].valAccuracy).toBeUndefined();
    expect(summary.arms[3].curves[0].loss).toEqual({ n: 1, mean: 0.51, sd: null });
  });

  it('compares arms paired by the seeds both finished, with interval, test and verdict', () => {
    const [bn, reversed, dropout, tiny] = summary.comparisons;
    expect(bn.seeds).toEqual([1, 2, 3, 4]);
    expect(bn.pairs).toBe(4);
    expect(bn.question).toBe('Does BatchNorm help?');
    expect(bn.meanA).toBeCloseTo(0.9725, 12);
    expect(bn.meanB).toBeCloseTo(0.92525, 12);
    expect(bn.difference).toBeCloseTo(0.04725, 12);
    expect(bn.ci95![0]).toBeCloseTo(0.03715482082177266, 12);
    expect(bn.ci95![1]).toBeCloseTo(0.057345179178227255, 12);
    expect(bn.test.t).toBeCloseTo(14.895286677919076, 9);
    expect(bn.test.df).toBe(3);
    expect(bn.test.p).toBeCloseTo(0.0006566318180593961, 12);
    expect(bn.outcome).toBe('a-better');
    expect(bn.verdict).toBe(
      'with-bn is 4.7 points above no-bn (95 % CI 3.7 to 5.7, paired t-test p = 0.00066, 4 seeds)',
    );

    // the same comparison the other way round names the arm ahead first
    expect(reversed.outcome).toBe('b-better');
    expect(reversed.difference).toBeCloseTo(-0.04725, 12);
    expect(reversed.verdict).toBe(bn.verdict);

    expect(dropout.outcome).toBe('no-difference');
    expect(dropout.test.p).toBeCloseTo(0.9332946839154959, 12);
    expect(dropout.verdict).toBe(
      'no difference detectable at this budget: dropout − no-bn = 0.0 points (95 % CI −0.9 to 0.9, paired t-test p = 0.93, 4 seeds)',
    );

    expect(tiny.pairs).toBe(1);
    expect(tiny.outcome).toBe('insufficient');
    expect(tiny.ci95).toBeNull();
    expect(tiny.test.p).toBeNull();
    expect(tiny.difference).toBeCloseTo(-0.02, 12);
    expect(tiny.verdict).toBe(
      'with-bn is 2.0 points above tiny on the one seed both finished (1 pair: no interval and no test; more seeds are needed)',
    );
    expect(JSON.stringify(summary)).not.toContain('NaN');
  });

  it('refuses results that do not belong to the study', () => {
    expect(() => summarizeStudy(study, [{ ...results[0], study: 'other' }])).toThrow(
      "study 'bn-test' results: results[0] belongs to study 'other'",
    );
    expect(() => summarizeStudy(study, [{ ...results[0], arm: 'nope' }])).toThrow(
      "results[0] is for arm 'nope', which the study does not have",
    );
    expect(() => summarizeStudy(study, [{ ...results[0], seed: 9 }])).toThrow(
      "results[0] (with-bn) has seed 9, not one of the study's",
    );
    expect(() => summarizeStudy(study, [results[0], results[0]])).toThrow(
      "arm 'with-bn' seed 1 has two results",
    );
    expect(() => summarizeStudy(study, [{ ...results[0], testAccuracy: undefined }])).toThrow(
      'results[0] (with-bn, seed 1) is done but has no test accuracy',
    );
  });

  it('says there is nothing to compare when no seed finished in both arms', () => {
    const s = summarizeStudy(
      study,
      results.filter((r) => r.arm !== 'tiny'),
    );
    expect(s.comparisons[3].pairs).toBe(0);
    expect(s.comparisons[3].verdict).toBe('no seed finished in both tiny and with-bn: nothing to compare');
    expect(s.arms[3].testAccuracy).toMatchObject({ n: 0, mean: null, note: 'no values' });
    expect(s.arms[3].curves).toEqual([]);
  });

  it('words the verdict of identical arms and of a difference that never varies', () => {
    const s = summarizeStudy(study, [
      ...[0.95, 0.85, 0.75].map((acc, i) => done('with-bn', i + 1, acc)),
      ...[0.9, 0.8, 0.7].map((acc, i) => done('no-bn', i + 1, acc)),
      ...[0.9, 0.8, 0.7].map((acc, i) => done('dropout', i + 1, acc)),
    ]);
    const [constant, , identical] = s.comparisons;
    expect(constant.outcome).toBe('a-better');
    expect(constant.ci95).toBeNull();
    expect(constant.verdict).toBe(
      'with-bn is 5.0 points above no-bn on every one of the 3 seeds, by the same amount each time (no spread: no interval and no test)',
    );
    expect(identical.outcome).toBe('no-difference');
    expect([identical.test.p, identical.ci95]).toEqual([1, [0, 0]]);
    expect(identical.verdict).toBe(
      'no difference: dropout and no-bn have the same test accuracy on each of the 3 seeds',
    );
  });
});
