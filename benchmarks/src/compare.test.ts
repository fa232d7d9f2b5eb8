import { describe, expect, it } from 'vitest';
import { compareResults, renderComparison } from './compare.js';
import { okCell, syntheticResult } from './testing/fixtures.js';

describe('compareResults', () => {
  const old = syntheticResult([
    okCell('train', 'lenet5', 'wasm', 64, 1000, 2),
    okCell('train', 'torch-bn', 'wasm', 64, 500, 5),
    okCell('infer', 'lenet5', 'ort-cpu', 64, 10000, 1),
    okCell('infer', 'lenet5', 'wasm', 1, 400, 3),
  ]);
  const neu = syntheticResult([
    okCell('train', 'lenet5', 'wasm', 64, 1100, 3), // +10 % > 5 % noise: faster
    okCell('train', 'torch-bn', 'wasm', 64, 480, 5), // −4 % < 10 % noise: within noise
    okCell('infer', 'lenet5', 'ort-cpu', 64, 9000, 1), // −10 % > 2 %: slower
    okCell('infer', 'mlp2', 'wasm', 1, 5000, 1),
  ]);

  it('flags only changes beyond the combined relative margins of error', () => {
    const cmp = compareResults(old, neu);
    const by = Object.fromEntries(cmp.changes.map((c) => [c.id, c]));
    expect(by['train/lenet5/wasm/b64'].verdict).toBe('faster');
    expect(by['train/lenet5/wasm/b64'].ratio).toBeCloseTo(1.1, 10);
    expect(by['train/lenet5/wasm/b64'].noise).toBeCloseTo(0.05, 10);
    expect(by['train/torch-bn/wasm/b64'].verdict).toBe('within noise');
    expect(by['train/torch-bn/wasm/b64'].ratio).toBeCloseTo(0.96, 10);
    expect(by['infer/lenet5/ort-cpu/b64'].verdict).toBe('slower');
    expect(by['infer/lenet5/wasm/b1'].verdict).toBe('only in old');
    expect(by['infer/mlp2/wasm/b1'].verdict).toBe('only in new');
    expect([cmp.faster, cmp.slower, cmp.withinNoise]).toEqual([1, 1, 1]);
  });

  it('reports status changes and renders a markdown report with ratios', () => {
    const skipped = {
      ...okCell('train', 'torch-bn', 'wasm', 64, 1),
      status: 'skipped' as const,
      reason: 'x',
    };
    const cmp = compareResults(old, syntheticResult([skipped]));
    expect(cmp.changes.find((c) => c.id === 'train/torch-bn/wasm/b64')?.verdict).toBe('status changed');
    const text = renderComparison(compareResults(old, neu), old, neu, { old: 'a.json', new: 'b.json' });
    expect(text).toContain('- 1 faster, 1 slower, 1 within noise');
    expect(text).toContain('| train/lenet5/wasm/b64 | 1,000 | 1,100 | 1.100 | 5.0% | **faster** |');
    expect(text).toContain('| infer/lenet5/ort-cpu/b64 | 10,000 | 9,000 | 0.900 | 2.0% | **SLOWER** |');
  });
});
