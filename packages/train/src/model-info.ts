import type { Dataset } from '@lenet/datasets';
import { TrainError } from './errors.js';
import type * as tf from './tfjs.js';

/** What training needs to know about a model: its input image shape, classes and output kind. */
export interface ModelInfo {
  height: number;
  width: number;
  channels: number;
  classes: number;
  /** True when the last layer has no softmax, so the output is logits. */
  fromLogits: boolean;
}

/** Reads a classifier's input shape `[null, h, w, c]`, class count and output kind. */
export function modelInfo(model: tf.LayersModel): ModelInfo {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) {
    throw new TrainError('model', `model ${model.name} must have one input and one output`);
  }
  const input = model.inputs[0].shape;
  const output = model.outputs[0].shape;
  if (input.length !== 4 || input.slice(1).some((d) => d == null)) {
    throw new TrainError(
      'model',
      `model ${model.name} input must be [batch, height, width, channels], got [${input}]`,
    );
  }
  if (output.length !== 2 || output[1] == null) {
    throw new TrainError('model', `model ${model.name} output must be [batch, classes], got [${output}]`);
  }
  const last = model.layers[model.layers.length - 1];
  const className = last.getClassName();
  const activation = last.getConfig().activation;
  const softmax = className === 'Softmax' || activation === 'softmax';
  return {
    height: input[1] as number,
    width: input[2] as number,
    channels: input[3] as number,
    classes: output[1],
    fromLogits: !softmax,
  };
}

/** Largest label in a data set (−1 when empty). */
function maxLabel(labels: ArrayLike<number>): number {
  let max = -1;
  for (let i = 0; i < labels.length; i++) if (labels[i] > max) max = labels[i];
  return max;
}

/**
 * Checks that a data set fits a model before any work starts: not empty, consistent buffer sizes,
 * image shape equal to the model input, every label below the class count (unless `checkLabels`
 * is false, for prediction, where labels are not used).
 */
export function checkDataset(
  ds: Dataset,
  info: Pick<ModelInfo, 'height' | 'width' | 'channels' | 'classes'>,
  field: string,
  checkLabels = true,
): void {
  const what = `${field} data (${ds.source})`;
  if (!Number.isInteger(ds.count) || ds.count <= 0) {
    throw new TrainError(field, `${what} is empty: it has ${ds.count} samples`);
  }
  if (ds.height !== info.height || ds.width !== info.width || ds.channels !== info.channels) {
    throw new TrainError(
      field,
      `${what} has images of ${ds.height}x${ds.width}x${ds.channels} but the model expects ${info.height}x${info.width}x${info.channels}`,
    );
  }
  const pixels = ds.count * ds.height * ds.width * ds.channels;
  if (ds.images.length !== pixels) {
    throw new TrainError(field, `${what} holds ${ds.images.length} pixel bytes, expected ${pixels}`);
  }
  if (!checkLabels) return;
  if (ds.labels.length !== ds.count) {
    throw new TrainError(field, `${what} has ${ds.labels.length} labels for ${ds.count} images`);
  }
  const max = maxLabel(ds.labels);
  if (max >= info.classes) {
    throw new TrainError(
      'labels',
      `${what} has label ${max}, out of range for a model with ${info.classes} classes (0..${info.classes - 1})`,
    );
  }
}

/** Throws unless `value` is a positive integer. */
export function checkPositiveInteger(field: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new TrainError(field, `${field} must be a positive integer, got ${value}`);
  }
}
