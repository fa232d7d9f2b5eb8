import { describe, expect, it } from 'vitest';
import { ConfusionMatrix, normalizeConfusionMatrix } from './confusion-matrix.js';

const yTrue = [0, 1, 2, 2, 2, 1, 0];
const yPred = [0, 2, 2, 2, 1, 1, 0];
// sklearn.metrics.confusion_matrix(yTrue, yPred)
const expected = [2, 0, 0, 0, 1, 1, 0, 1, 2];

describe('ConfusionMatrix', () => {
  it('counts rows = true class, columns = predicted class, like scikit-learn', () => {
    const cm = new ConfusionMatrix(3);
    cm.updateLabels(yPred, yTrue);
    const { matrix, classes } = cm.compute();
    expect(classes).toBe(3);
    expect(matrix).toBeInstanceOf(Int32Array);
    expect(Array.from(matrix)).toEqual(expected);
    expect(cm.count).toBe(7);
  });

  it('takes the arg-max of scores', () => {
    const cm = new ConfusionMatrix(2);
    cm.update(new Float32Array([0.9, 0.1, 0.2, 0.8, 0.6, 0.4]), [0, 0, 1]);
    expect(Array.from(cm.compute().matrix)).toEqual([1, 1, 1, 0]);
  });

  it('normalises by true, predicted or all like sklearn normalize=', () => {
    const cm = new ConfusionMatrix(3);
    cm.updateLabels(yPred, yTrue);
    const t = Array.from(cm.normalized('true'));
    const p = Array.from(cm.normalized('pred'));
    const a = Array.from(cm.normalized('all'));
    const close = (got: number[], want: number[]) => {
      for (const [i, g] of got.entries()) expect(g).toBeCloseTo(want[i], 12);
    };
    close(t, [1, 0, 0, 0, 1 / 2, 1 / 2, 0, 1 / 3, 2 / 3]);
    close(p, [1, 0, 0, 0, 1 / 2, 1 / 3, 0, 1 / 2, 2 / 3]);
    close(
      a,
      expected.map((v) => v / 7),
    );
  });

  it('gives zeros, not NaN, for empty rows and columns', () => {
    const n = normalizeConfusionMatrix([1, 0, 0, 0], 2, 'true');
    expect(Array.from(n)).toEqual([1, 0, 0, 0]);
    expect(Array.from(normalizeConfusionMatrix([0, 0, 0, 0], 2, 'all'))).toEqual([0, 0, 0, 0]);
    expect(() => normalizeConfusionMatrix([1, 2, 3], 2, 'true')).toThrow(
      'normalizeConfusionMatrix: matrix has 3 cells, expected 2×2',
    );
    expect(() => normalizeConfusionMatrix([1, 2, 3, 4], 2, 'rows' as never)).toThrow(
      /must be 'true', 'pred' or 'all', got rows/,
    );
  });

  it('merges halves into the whole; reset zeroes; compute returns a copy', () => {
    const whole = new ConfusionMatrix(3);
    whole.updateLabels(yPred, yTrue);
    const a = new ConfusionMatrix(3);
    const b = new ConfusionMatrix(3);
    a.updateLabels(yPred.slice(0, 4), yTrue.slice(0, 4));
    b.updateLabels(yPred.slice(4), yTrue.slice(4));
    expect(a.merge(b).compute()).toEqual(whole.compute());
    const snapshot = whole.compute();
    whole.reset();
    expect(Array.from(whole.compute().matrix)).toEqual(new Array(9).fill(0));
    expect(Array.from(snapshot.matrix)).toEqual(expected);
  });

  it('rejects bad labels and unlike merges with clear messages', () => {
    const cm = new ConfusionMatrix(3);
    expect(() => cm.updateLabels([0, 1], [0, 5])).toThrow(
      'ConfusionMatrix.updateLabels: target[1] = 5 is out of range: labels must be integers in [0, 2]',
    );
    expect(() => cm.updateLabels([0], [0, 1])).toThrow(/length mismatch: 1 predictions but 2 targets/);
    expect(() => cm.merge(new ConfusionMatrix(10) as never)).toThrow(
      'ConfusionMatrix.merge: cannot merge metrics with different class counts (3 and 10)',
    );
    expect(cm.count).toBe(0);
  });

  it('names both class counts when predictions come from a model with more classes', () => {
    const cm = new ConfusionMatrix(5);
    expect(() => cm.updateLabels([6, 0], [1, 0])).toThrow(
      'ConfusionMatrix.updateLabels: pred[0] = 6 is out of range: labels must be integers in [0, 4]; pred uses at least 7 classes but the metric was made for 5 (do the model and the data set have the same classes?)',
    );
  });
});
