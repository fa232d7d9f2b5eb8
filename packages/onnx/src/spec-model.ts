import { buildModel } from '@lenet/models/tf';
import { OnnxError } from './errors.js';
import type { SpecWithWeights } from './export.js';
import type * as tf from './tfjs.js';

/**
 * Builds the LayersModel of `{ spec, weights }` with `@lenet/models` and loads the weights into
 * it (a list in `model.getWeights()` order, or a map keyed by weight name such as
 * `conv2d_1/kernel`). The caller disposes the model with `dispose()`.
 */
export function modelFromSpec(source: SpecWithWeights): { model: tf.LayersModel; dispose: () => void } {
  const model = buildModel(source.spec, { seed: 0 });
  try {
    const variables = model.weights;
    let values: tf.Tensor[];
    if (Array.isArray(source.weights)) {
      values = source.weights;
      if (values.length !== variables.length) {
        throw new OnnxError(
          'INVALID_OPTION',
          `spec "${source.spec.name}" has ${variables.length} weight tensors but ${values.length} were given`,
        );
      }
    } else {
      const map = source.weights;
      values = variables.map((v) => {
        const t = map[v.originalName] ?? map[v.name];
        if (!t) {
          throw new OnnxError(
            'INVALID_OPTION',
            `spec "${source.spec.name}": no weight named "${v.originalName}" (given: ${Object.keys(map).join(', ')})`,
          );
        }
        return t;
      });
    }
    variables.forEach((v, i) => {
      const got = values[i].shape;
      if (got.length !== v.shape.length || got.some((d, j) => d !== v.shape[j])) {
        throw new OnnxError(
          'INVALID_OPTION',
          `spec "${source.spec.name}": weight "${v.originalName}" has shape [${v.shape.join(', ')}], given [${got.join(', ')}]`,
        );
      }
    });
    model.setWeights(values);
    return { model, dispose: () => model.dispose() };
  } catch (err) {
    model.dispose();
    throw err;
  }
}
