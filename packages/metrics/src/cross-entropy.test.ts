import { describe, expect, it } from 'vitest';
import { CrossEntropy } from './cross-entropy.js';

describe('CrossEntropy', () => {
  it('is the mean negative log probability of the true class', () => {
    const ce = new CrossEntropy(3);
    ce.update(new Float64Array([0.7, 0.2, 0.1, 0.1, 0.3, 0.6]), [0, 2]);
    expect(ce.compute()).toBeCloseTo(-(Math.log(0.7) + Math.log(0.6)) / 2, 12);
  });

  it('clamps probabilities at 1e-7 (or the given epsilon)', () => {
    const ce = new CrossEntropy(2);
    ce.update(new Float32Array([1, 0]), [1]);
    expect(ce.compute()).toBeCloseTo(-Math.log(1e-7), 10);
    expect(ce.compute()).toBeCloseTo(16.118, 3);
    const loose = new CrossEntropy(2, { epsilon: 1e-3 });
    loose.update([1, 0, 0, 1], [1, 1]);
    expect(loose.compute()).toBeCloseTo(-Math.log(1e-3) / 2, 12);
  });

  it('applies a stable log-softmax with fromLogits', () => {
    const ce = new CrossEntropy(3, { fromLogits: true });
    ce.update(new Float32Array([1000, 0, -1000, 1, 2, 3]), [0, 1]);
    const lse = Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3));
    expect(ce.compute()).toBeCloseTo((0 + (lse - 2)) / 2, 10);
    expect(Number.isFinite(ce.compute())).toBe(true);
  });

  it('tells you to pass fromLogits when given logits as probabilities', () => {
    const ce = new CrossEntropy(2);
    expect(() => ce.update([2.5, -1], [0])).toThrow(
      'CrossEntropy.update: scores[0] = 2.5 (sample 0, class 0) is not a probability in [0, 1]; pass { fromLogits: true } for logits',
    );
  });

  it('merges halves into the whole and refuses unlike options', () => {
    const probs = new Float64Array([0.9, 0.1, 0.3, 0.7, 0.5, 0.5, 0.2, 0.8]);
    const target = [0, 1, 0, 0];
    const whole = new CrossEntropy(2);
    whole.update(probs, target);
    const a = new CrossEntropy(2);
    const b = new CrossEntropy(2);
    a.update(probs.subarray(0, 2), target.slice(0, 1));
    b.update(probs.subarray(2), target.slice(1));
    expect(a.merge(b).compute()).toBeCloseTo(whole.compute(), 14);
    expect(() => a.merge(new CrossEntropy(2, { fromLogits: true }))).toThrow(/different fromLogits/);
    expect(() => a.merge(new CrossEntropy(3))).toThrow(/different class counts \(2 and 3\)/);
    a.reset();
    expect(() => a.compute()).toThrow('CrossEntropy.compute: no samples were added');
  });
});
