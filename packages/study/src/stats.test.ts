import { describe, expect, it } from 'vitest';
import { describeSample, pairedTest } from './stats.js';

// Student's sleep data (Cushny & Peebles 1905, as analysed by Student 1908; R's `sleep`): extra
// hours of sleep of the same 10 patients under two drugs.
const drug1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0];
const drug2 = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4];

describe('pairedTest', () => {
  it("gives R's t.test(extra ~ group, data = sleep, paired = TRUE) on Student's sleep data", () => {
    const r = pairedTest(drug1, drug2);
    expect(r.test).toBe('paired t-test');
    expect(r.n).toBe(10);
    expect(r.df).toBe(9);
    expect(r.meanDiff).toBeCloseTo(-1.58, 12);
    // R prints t = -4.0621, p-value = 0.002833 and the CI to 7 decimals
    expect(r.t).toBeCloseTo(-4.0621, 4);
    expect(r.p).toBeCloseTo(0.002833, 6);
    expect(r.ci95![0]).toBeCloseTo(-2.4598858, 7);
    expect(r.ci95![1]).toBeCloseTo(-0.7001142, 7);
    expect(r.sdDiff).toBeCloseTo(1.2299955, 7);
    expect(r.note).toBeUndefined();
    // swapping the arms flips the signs and keeps p
    const swapped = pairedTest(drug2, drug1);
    expect(swapped.t).toBeCloseTo(4.0621, 4);
    expect(swapped.p).toBeCloseTo(r.p!, 15);
    expect(swapped.ci95![0]).toBeCloseTo(0.7001142, 7);
  });

  it('handles identical arms, a constant difference, one pair and no pairs without NaN', () => {
    const same = pairedTest([0.9, 0.8, 0.95], [0.9, 0.8, 0.95]);
    expect(same).toMatchObject({ n: 3, meanDiff: 0, sdDiff: 0, t: 0, df: 2, p: 1, ci95: [0, 0] });
    expect(same.degenerate).toBe('identical');
    expect(same.note).toBe('every pair is identical: difference 0, p = 1');

    // 0.95 − 0.9 and 0.85 − 0.8 differ in the last bits only: still constant, as in R
    const constant = pairedTest([0.95, 0.85, 0.75], [0.9, 0.8, 0.7]);
    expect(constant.degenerate).toBe('constant-difference');
    expect(constant.meanDiff).toBeCloseTo(0.05, 12);
    expect([constant.t, constant.p, constant.ci95]).toEqual([null, null, null]);
    expect(constant.note).toBe(
      'every pair differs by the same amount (0.05): no spread, so the t-test is undefined',
    );

    const one = pairedTest([0.9], [0.85]);
    expect(one).toMatchObject({ n: 1, sdDiff: null, t: null, df: null, p: null, ci95: null });
    expect(one.meanDiff).toBeCloseTo(0.05, 12);
    expect(one.note).toBe('one pair: no spread, so no test and no confidence interval');

    expect(pairedTest([], [])).toMatchObject({ n: 0, meanDiff: null, p: null, note: 'no pairs' });
    for (const r of [same, constant, one])
      for (const v of Object.values(r)) expect(Number.isNaN(v)).toBe(false);
  });

  it('refuses arms of different lengths and values that are not finite', () => {
    expect(() => pairedTest([1, 2], [1])).toThrow(
      'pairedTest: a has 2 values but b has 1; they pair by index',
    );
    expect(() => pairedTest([1, Number.NaN], [1, 2])).toThrow('pairedTest: a[1] is NaN, not a finite number');
    expect(() => pairedTest([1, 2], [1, Number.POSITIVE_INFINITY])).toThrow('b[1] is Infinity');
  });
});

describe('describeSample', () => {
  it('gives the published 95 % CI of the vitamin C example (Moore & McCabe, Introduction to the Practice of Statistics)', () => {
    // Vitamin C in corn-soy blend, mg/100 g, 8 samples: x̄ = 22.50, s = 7.19, SE = 2.54,
    // t* = 2.365 (7 df), interval 22.50 ± 6.01 = 16.49 to 28.51.
    const r = describeSample([26, 31, 23, 22, 11, 22, 14, 31]);
    expect(r.n).toBe(8);
    expect(r.mean).toBe(22.5);
    expect(r.sd!.toFixed(2)).toBe('7.19');
    expect(r.se!.toFixed(2)).toBe('2.54');
    expect(r.ci95!.map((x) => x.toFixed(2))).toEqual(['16.49', '28.51']);
    expect(((r.ci95![1] - r.ci95![0]) / 2).toFixed(2)).toBe('6.01');
    expect(r.sd).toBeCloseTo(Math.sqrt(362 / 7), 12);
  });

  it("gives R's t.test(sleep$extra[1:10]) interval on the first drug of the sleep data", () => {
    const r = describeSample(drug1);
    expect(r.mean).toBeCloseTo(0.75, 12);
    expect(r.ci95![0]).toBeCloseTo(-0.5297804, 7);
    expect(r.ci95![1]).toBeCloseTo(2.0297804, 7);
  });

  it('has no spread or interval below two values, and says so', () => {
    expect(describeSample([0.97])).toEqual({
      n: 1,
      mean: 0.97,
      sd: null,
      se: null,
      ci95: null,
      note: 'one value: no spread, so no confidence interval',
    });
    expect(describeSample([])).toEqual({
      n: 0,
      mean: null,
      sd: null,
      se: null,
      ci95: null,
      note: 'no values',
    });
    expect(describeSample([0.5, 0.5])).toEqual({ n: 2, mean: 0.5, sd: 0, se: 0, ci95: [0.5, 0.5] });
    expect(() => describeSample([1, Number.NaN])).toThrow(
      'describeSample: xs[1] is NaN, not a finite number',
    );
  });
});
