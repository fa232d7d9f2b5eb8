import { describe, expect, it } from 'vitest';
import { latencyOf, measureRounds, median, roundTiming } from './measure.js';

describe('latencyOf', () => {
  it('gives the mean, interpolated median and p99, and the Student-t margin of the mean', () => {
    const m = latencyOf([4, 1, 3, 2]);
    expect(m.latencyMs.mean).toBe(2.5);
    expect(m.latencyMs.p50).toBe(2.5);
    expect(m.latencyMs.p99).toBeCloseTo(3.97, 10);
    // t(0.975, 3) = 3.182446; sd = 1.290994; se = 0.645497
    expect(m.rme).toBeCloseTo(((3.182446 * 0.645497) / 2.5) * 100, 3);
    expect(m.iterations).toBe(4);
  });

  it('has no margin for one sample and refuses none', () => {
    expect(latencyOf([3]).rme).toBe(0);
    expect(() => latencyOf([])).toThrow(/no samples/);
  });
});

describe('median', () => {
  it('takes the middle value, or the mean of the two middle ones', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });
});

describe('roundTiming', () => {
  const timing = { iterations: 10, timeMs: 4000, warmupIterations: 3, warmupTimeMs: 3000 };
  it('gives each round its share and the warm-up to the first round only', () => {
    expect(roundTiming(timing, 0, 5)).toEqual({
      iterations: 2,
      timeMs: 800,
      warmupIterations: 3,
      warmupTimeMs: 3000,
    });
    expect(roundTiming(timing, 1, 5)).toEqual({ iterations: 2, timeMs: 800, warmupIterations: 0 });
    expect(roundTiming({ iterations: 5, timeMs: 0, warmupIterations: 1 }, 4, 5)).toEqual({
      iterations: 1,
      timeMs: 0,
      warmupIterations: 0,
    });
  });
});

describe('measureRounds', () => {
  const timing = { iterations: 6, timeMs: 0, warmupIterations: 1 };

  it("alternates ours and the partner's rounds and gives one ratio per round", async () => {
    const log: string[] = [];
    let round = 0;
    // Ours takes 4, 5 and 8 ms in rounds 0, 1, 2 (as tinybench's overriddenDuration); PyTorch 40, 40, 20.
    const ours = [4, 5, 8];
    const theirs = [40, 40, 20];
    const m = await measureRounds(
      'cell',
      async () => {
        log.push(`ours ${round}`);
        return { overriddenDuration: ours[round] };
      },
      timing,
      {
        rounds: 3,
        async round(i) {
          log.push(`partner ${i}`);
          round = i + 1;
          return theirs[i];
        },
      },
    );
    // Round 0: one warm-up call and two timed ones, then the partner; later rounds two calls each.
    expect(log).toEqual([
      'ours 0',
      'ours 0',
      'ours 0',
      'partner 0',
      'ours 1',
      'ours 1',
      'partner 1',
      'ours 2',
      'ours 2',
      'partner 2',
    ]);
    expect(m.ratios).toEqual([10, 8, 2.5]);
    // Ours pooled over the rounds: 4, 4, 5, 5, 8, 8.
    expect(m.iterations).toBe(6);
    expect(m.latencyMs.mean).toBeCloseTo(34 / 6, 10);
    expect(m.latencyMs.p50).toBe(5);
    expect(m.partnerError).toBeUndefined();
  });

  it('keeps measuring alone after the partner throws, with the rounds before it', async () => {
    let calls = 0;
    const partnerRounds: number[] = [];
    const m = await measureRounds(
      'cell',
      async () => {
        calls++;
      },
      timing,
      {
        rounds: 3,
        async round(i) {
          partnerRounds.push(i);
          if (i === 1) throw new Error('pytorch_ref.py: ValueError: no such layer');
          return 1;
        },
      },
    );
    expect(partnerRounds).toEqual([0, 1]);
    expect(m.ratios).toHaveLength(1);
    expect(m.partnerError).toBe('pytorch_ref.py: ValueError: no such layer');
    expect(calls).toBe(7);
    expect(m.iterations).toBe(6);
  });
});
