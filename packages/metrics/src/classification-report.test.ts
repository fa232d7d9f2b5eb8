import { describe, expect, it } from 'vitest';
import { classificationReport } from './classification-report.js';
import { ConfusionMatrix } from './confusion-matrix.js';
import { formatFixed } from './format.js';
import { PrecisionRecallF1 } from './precision-recall-f1.js';

describe('classificationReport', () => {
  it('prints exactly what scikit-learn prints for its documentation example', () => {
    // sklearn docs: classification_report([0, 1, 2, 2, 2], [0, 0, 2, 2, 1], target_names=[...])
    const cm = new ConfusionMatrix(3);
    cm.updateLabels([0, 0, 2, 2, 1], [0, 1, 2, 2, 2]);
    const expected = [
      '              precision    recall  f1-score   support',
      '',
      '     class 0       0.50      1.00      0.67         1',
      '     class 1       0.00      0.00      0.00         1',
      '     class 2       1.00      0.67      0.80         3',
      '',
      '    accuracy                           0.60         5',
      '   macro avg       0.50      0.56      0.49         5',
      'weighted avg       0.70      0.60      0.61         5',
      '',
    ].join('\n');
    expect(classificationReport(cm, ['class 0', 'class 1', 'class 2'])).toBe(expected);
  });

  it('prints sklearn’s report for y_true=[0,1,2,2,2,1,0], y_pred=[0,2,2,2,1,1,0] with default names', () => {
    const m = new PrecisionRecallF1(3);
    m.updateLabels([0, 2, 2, 2, 1, 1, 0], [0, 1, 2, 2, 2, 1, 0]);
    const expected = [
      '              precision    recall  f1-score   support',
      '',
      '           0       1.00      1.00      1.00         2',
      '           1       0.50      0.50      0.50         2',
      '           2       0.67      0.67      0.67         3',
      '',
      '    accuracy                           0.71         7',
      '   macro avg       0.72      0.72      0.72         7',
      'weighted avg       0.71      0.71      0.71         7',
      '',
    ].join('\n');
    expect(classificationReport(m)).toBe(expected);
    expect(classificationReport(m.compute())).toBe(expected);
    expect(classificationReport(m.confusion.compute())).toBe(expected);
  });

  it('widens the name column for long names and honours digits', () => {
    const cm = new ConfusionMatrix(2);
    cm.updateLabels([0, 1, 1], [0, 1, 0]);
    const report = classificationReport(cm, ['cat', 'a rather long name'], { digits: 4 }).split('\n');
    expect(report[0]).toBe(`${' '.repeat(19)} precision    recall  f1-score   support`);
    expect(report[2]).toBe(`${' '.repeat(15)}cat     1.0000    0.5000    0.6667         2`);
    expect(report[3]).toBe('a rather long name     0.5000    1.0000    0.6667         1');
    expect(report[5]).toBe(`${' '.repeat(10)}accuracy${' '.repeat(25)}0.6667${' '.repeat(9)}3`);
  });

  it('rejects a wrong number of class names', () => {
    expect(() => classificationReport(new ConfusionMatrix(3), ['a', 'b'])).toThrow(
      'classificationReport: 2 class names given for 3 classes',
    );
  });
});

describe('formatFixed', () => {
  it('rounds exact ties to even like Python, and otherwise like toFixed', () => {
    expect(formatFixed(0.125, 2)).toBe('0.12'); // Python: '0.12'; toFixed: '0.13'
    expect(formatFixed(0.375, 2)).toBe('0.38');
    expect(formatFixed(2.5, 0)).toBe('2');
    expect(formatFixed(3.5, 0)).toBe('4');
    expect(formatFixed(0.625, 2)).toBe('0.62');
    expect(formatFixed(1 / 3, 2)).toBe('0.33');
    expect(formatFixed(2 / 3, 2)).toBe('0.67');
    expect(formatFixed(0.005, 2)).toBe('0.01'); // 0.005 is slightly above the tie as a double
    expect(formatFixed(-0.125, 2)).toBe('-0.12');
    expect(formatFixed(1, 2)).toBe('1.00');
  });
});
