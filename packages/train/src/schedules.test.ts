import { describe, expect, it } from 'vitest';
import type { EpochLogs } from './logs.js';
import { createSchedule, type ScheduleConfig } from './schedules.js';

const run = { baseLearningRate: 0.1, stepsPerEpoch: 10, epochs: 10, defaultMonitor: 'valLoss' as const };
const logs = (epoch: number, valLoss: number): EpochLogs => ({
  epoch,
  loss: 1,
  accuracy: 0.5,
  valLoss,
  lr: 0.1,
  samplesPerSecond: 1,
  epochSeconds: 1,
});
const rates = (cfg: ScheduleConfig): number[] => {
  const s = createSchedule(cfg, run);
  return Array.from({ length: 100 }, (_, i) => s.rate(i));
};

describe('schedules', () => {
  it('constant by default', () => {
    expect(new Set(rates({ type: 'constant' }))).toEqual(new Set([0.1]));
  });

  it('step: gamma every stepEpochs epochs', () => {
    const r = rates({ type: 'step', stepEpochs: 3, gamma: 0.5 });
    expect(r[29]).toBeCloseTo(0.1);
    expect(r[30]).toBeCloseTo(0.05);
    expect(r[60]).toBeCloseTo(0.025);
    expect(r[99]).toBeCloseTo(0.0125);
  });

  it('cosine: from the base rate to the minimum', () => {
    const r = rates({ type: 'cosine', minLearningRate: 0.01 });
    expect(r[0]).toBeCloseTo(0.1);
    expect(r[50]).toBeCloseTo(0.1 * 0.5 + 0.01 * 0.5, 2);
    expect(r[99]).toBeCloseTo(0.01, 3);
    for (let i = 1; i < 100; i++) expect(r[i]).toBeLessThanOrEqual(r[i - 1] + 1e-12);
  });

  it('warm-up ramps linearly, then the schedule takes over', () => {
    const r = rates({ type: 'cosine', warmupEpochs: 1 });
    expect(r[0]).toBeCloseTo(0.01);
    expect(r[4]).toBeCloseTo(0.05);
    expect(r[9]).toBeCloseTo(0.1);
    expect(r[10]).toBeCloseTo(0.1);
    expect(r[99]).toBeLessThan(0.001);
    const w = rates({ type: 'warmup', warmupEpochs: 2 });
    expect(w[19]).toBeCloseTo(0.1);
    expect(w[50]).toBeCloseTo(0.1);
  });

  it('one-cycle rises to the maximum at pctStart, then anneals far below the start', () => {
    const r = rates({ type: 'oneCycle', maxLearningRate: 1, pctStart: 0.3 });
    expect(r[0]).toBeCloseTo(1 / 25);
    const peak = r.indexOf(Math.max(...r));
    expect(peak).toBe(29);
    expect(r[peak]).toBeCloseTo(1);
    expect(r[99]).toBeCloseTo(1 / 25 / 1e4, 8);
  });

  it('reduce-on-plateau multiplies by factor after patience epochs without improvement, and its state round-trips', () => {
    const s = createSchedule({ type: 'reduceOnPlateau', factor: 0.5, patience: 2 }, run);
    s.epochEnd(logs(0, 1.0));
    s.epochEnd(logs(1, 0.9));
    s.epochEnd(logs(2, 0.95));
    expect(s.rate(0)).toBeCloseTo(0.1);
    s.epochEnd(logs(3, 0.95));
    expect(s.rate(0)).toBeCloseTo(0.05);
    const saved = s.state();
    const t = createSchedule({ type: 'reduceOnPlateau', factor: 0.5, patience: 2 }, run);
    t.restore(saved);
    expect(t.rate(0)).toBeCloseTo(0.05);
    expect(t.state()).toEqual({ scale: 0.5, best: 0.9, wait: 0, cooldown: 0 });
  });

  it('rejects bad configs', () => {
    expect(() => createSchedule({ type: 'step', stepEpochs: 0 }, run)).toThrow(/schedule.stepEpochs/);
    expect(() => createSchedule({ type: 'nope' } as unknown as ScheduleConfig, run)).toThrow(
      /unknown schedule type "nope"/,
    );
    const s = createSchedule({ type: 'reduceOnPlateau' }, run);
    expect(() => s.epochEnd({ ...logs(0, 1), valLoss: undefined })).toThrow(/monitors valLoss/);
  });
});
