import { describe, expect, it } from 'vitest';
import { ConfusionMatrix } from './confusion-matrix.js';
import { PrecisionRecallF1, precisionRecallF1 } from './precision-recall-f1.js';

const close = (got: ArrayLike<number>, want: number[]) => {
  expect(got.length).toBe(want.length);
  for (const [i, w] of want.entries()) expect(got[i]).toBeCloseTo(w, 12);
};

describe('PrecisionRecallF1', () => {
  it('matches sklearn precision_recall_fscore_support on y_true=[0,1,2,2,2,1,0], y_pred=[0,2,2,2,1,1,0]', () => {
    const m = new PrecisionRecallF1(3);
    m.updateLabels([0, 2, 2, 2, 1, 1, 0], [0, 1, 2, 2, 2, 1, 0]);
    const r = m.compute();
    close(r.precision, [1, 1 / 2, 2 / 3]);
    close(r.recall, [1, 1 / 2, 2 / 3]);
    close(r.f1, [1, 1 / 2, 2 / 3]);
    expect(Array.from(r.support)).toEqual([2, 2, 3]);
    expect(r.accuracy).toBeCloseTo(5 / 7, 12);
    expect(r.macro.precision).toBeCloseTo((1 + 1 / 2 + 2 / 3) / 3, 12); // 0.7222
    expect(r.macro.f1).toBeCloseTo(13 / 18, 12);
    expect(r.weighted.recall).toBeCloseTo(5 / 7, 12);
    expect(r.weighted.f1).toBeCloseTo((2 * 1 + 2 * 0.5 + 3 * (2 / 3)) / 7, 12);
    expect(r.micro).toEqual({ precision: 5 / 7, recall: 5 / 7, f1: 5 / 7, support: 7 });
    expect(r.macro.support).toBe(7);
  });

  it('matches the scikit-learn docs example y_true=[0,1,2,2,2], y_pred=[0,0,2,2,1]', () => {
    const cm = new ConfusionMatrix(3);
    cm.updateLabels([0, 0, 2, 2, 1], [0, 1, 2, 2, 2]);
    const r = precisionRecallF1(cm.compute());
    close(r.precision, [0.5, 0, 1]);
    close(r.recall, [1, 0, 2 / 3]);
    close(r.f1, [2 / 3, 0, 0.8]);
    expect(r.macro.recall).toBeCloseTo(5 / 9, 12);
    expect(r.weighted.precision).toBeCloseTo(0.7, 12);
    expect(r.weighted.f1).toBeCloseTo((2 / 3 + 2.4) / 5, 12);
  });

  it('uses 0 for 0/0 (sklearn zero_division) and keeps absent classes in the macro mean', () => {
    const m = new PrecisionRecallF1(3);
    m.updateLabels([0, 0], [0, 1]); // class 1 never predicted, class 2 absent everywhere
    const r = m.compute();
    close(r.precision, [0.5, 0, 0]);
    close(r.recall, [1, 0, 0]);
    close(r.f1, [2 / 3, 0, 0]);
    expect(r.macro.f1).toBeCloseTo(2 / 9, 12);
    expect(r.weighted.f1).toBeCloseTo(1 / 3, 12);
    const empty = new PrecisionRecallF1(2).compute();
    expect(empty.accuracy).toBe(0);
    expect(empty.weighted).toEqual({ precision: 0, recall: 0, f1: 0, support: 0 });
    for (const v of [...empty.precision, ...empty.recall, ...empty.f1]) expect(Number.isNaN(v)).toBe(false);
  });

  it('merges halves into the whole', () => {
    const whole = new PrecisionRecallF1(3);
    whole.updateLabels([0, 2, 2, 2, 1, 1, 0], [0, 1, 2, 2, 2, 1, 0]);
    const a = new PrecisionRecallF1(3);
    const b = new PrecisionRecallF1(3);
    a.updateLabels([0, 2, 2], [0, 1, 2]);
    b.update(new Float32Array([0, 0, 1, 0, 0.9, 0.1, 0.1, 0.8, 0.1, 0.7, 0.2, 0.1]), [2, 2, 1, 0]);
    expect(a.merge(b).compute()).toEqual(whole.compute());
    expect(() => a.merge(new PrecisionRecallF1(4) as never)).toThrow(/different class counts \(3 and 4\)/);
  });

  it('rejects a matrix of the wrong size', () => {
    expect(() => precisionRecallF1({ matrix: new Int32Array(5), classes: 2 })).toThrow(
      'precisionRecallF1: expected a 2×2 confusion matrix, got 5 cells',
    );
  });
});
