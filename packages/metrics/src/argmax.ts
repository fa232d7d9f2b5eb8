import { argmax as argmaxRows, isLenetError } from '@lenet/common';
import { MetricsError } from './errors.js';
import type { Scores } from './validate.js';
import { checkClassCount } from './validate.js';

/**
 * The index of the largest score in each row of a row-major `[n, classes]` matrix. Ties go to the
 * lowest index, as in `numpy.argmax` and `tf.argMax`. `@lenet/common`'s argmax, with bad input
 * reported as a {@link MetricsError} like everywhere else in this package.
 */
export function argmax(scores: Scores, classes: number): Int32Array {
  checkClassCount('argmax', classes);
  try {
    return argmaxRows(scores, classes);
  } catch (error) {
    if (!isLenetError(error)) throw error;
    throw new MetricsError('argmax', error.message.replace(/^argmax: /, ''));
  }
}
