import { describe, expect, it } from 'vitest';
import { runOnnxBenchmarks } from './onnx-bench.js';

describe('runOnnxBenchmarks', () => {
  it('measures tfjs and onnxruntime at every batch and thread count and reports their ratios', async () => {
    const report = await runOnnxBenchmarks({
      preset: 'lenet5',
      batches: [1, 8],
      threads: [1, 2],
      timeMs: 30,
    });
    expect(report.rows.map((r) => [r.runtime, r.batch])).toEqual([
      ['tfjs', 1],
      ['tfjs', 8],
      ['onnxruntime', 1],
      ['onnxruntime', 8],
      ['onnxruntime', 1],
      ['onnxruntime', 8],
    ]);
    expect(report.rows.every((r) => r.samplesPerSec > 0 && r.p99Ms >= r.p50Ms)).toBe(true);
    expect(report.ratios).toHaveLength(4);
    expect(report.ratios[0].config).toBe('threads=1 spin=off opt=all sequential');
    expect(report.defaults).toEqual([]);
    expect(report.machine).toMatch(/cores, Node v\d+/);
  });

  it('measures only what it is asked for: no tfjs rows, and no configuration the caller already has', async () => {
    const report = await runOnnxBenchmarks({
      batches: [1, 8],
      threads: [1, 2],
      timing: { iterations: 3, timeMs: 10, warmupIterations: 1 },
      tfjs: false,
      skip: (threads) => threads === 1,
    });
    expect(report.rows.map((r) => [r.runtime, r.threads, r.batch])).toEqual([
      ['onnxruntime', 2, 1],
      ['onnxruntime', 2, 8],
    ]);
    expect(report.rows.every((r) => r.iterations >= 3 && Number.isFinite(r.rme))).toBe(true);
    expect(report.tfjsBackend).toBeUndefined();
    expect(report.ratios).toEqual([]);
  });
});
