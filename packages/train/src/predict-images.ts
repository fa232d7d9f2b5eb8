import type { Classifier } from '@lenet/common';
import {
  type Dataset,
  decodeImageFile,
  type FolderFit,
  type FolderKernel,
  invertPixels,
  isDarkOnLight,
  type MeanStd,
} from '@lenet/datasets';
import { TrainError } from './errors.js';
import { type PredictResult, predict, resolve } from './evaluate.js';
import type * as tf from './tfjs.js';

/** Options of {@link predictImages}. */
export interface PredictImagesOptions {
  /**
   * Dark strokes on a light background (a digit drawn on paper) are the negative of MNIST's.
   * `'auto'` (default) inverts each image whose border is brighter than its centre; `true` inverts
   * every image; `false` none.
   */
  invert?: 'auto' | boolean;
  /** `[height, width]` for a classifier that accepts any size (otherwise its input size is used). */
  size?: readonly [number, number];
  /** Channels for a classifier that accepts any (default 3). */
  channels?: 1 | 3;
  /** How an image is fitted to the input size (default `'fill'`, as the image-folder loader). */
  fit?: FolderFit;
  kernel?: FolderKernel;
  /** Images per forward pass (default 256). */
  batchSize?: number;
  /** Input normalisation (default: the classifier's; a TensorFlow.js model: `'unit'`). */
  normalize?: 'unit' | MeanStd;
}

/** Result of {@link predictImages}: {@link predict}'s, and which files were inverted. */
export interface PredictImagesResult extends PredictResult {
  /** Whether each file was inverted before it was classified. */
  inverted: boolean[];
}

/**
 * Classifies image files (PNG, JPEG, WebP, …): each is decoded and resized with sharp to the
 * classifier's input size exactly as `@lenet/datasets`' image-folder loader does, inverted when it
 * is dark-on-light (see `invert`), then normalised and laid out as the classifier says by
 * {@link predict}. A file that cannot be decoded throws a `DatasetError` naming it.
 */
export async function predictImages(
  source: Classifier | tf.LayersModel,
  files: readonly string[],
  options: PredictImagesOptions = {},
): Promise<PredictImagesResult> {
  const { classifier, normalize } = resolve(source, options.normalize);
  if (files.length === 0) throw new TrainError('files', 'predictImages: no image files given');
  const [h, w, c] = classifier.inputSize;
  const height = h ?? options.size?.[0];
  const width = w ?? options.size?.[1];
  if (height === undefined || width === undefined) {
    throw new TrainError('size', 'the classifier accepts any image size: pass size: [height, width]');
  }
  const channels = c ?? options.channels ?? 3;
  if (channels !== 1 && channels !== 3) {
    throw new TrainError('channels', `images are decoded to 1 or 3 channels; the model takes ${channels}`);
  }
  const invert = options.invert ?? 'auto';
  const shape = { height, width, channels };
  const size = height * width * channels;
  const images = new Uint8Array(files.length * size);
  const inverted: boolean[] = [];
  for (const [i, file] of files.entries()) {
    const pixels = await decodeImageFile(file, {
      size: [height, width],
      channels,
      fit: options.fit,
      kernel: options.kernel,
    });
    const flip = invert === 'auto' ? isDarkOnLight(pixels, shape) : invert;
    images.set(flip ? invertPixels(pixels) : pixels, i * size);
    inverted.push(flip);
  }
  const unlabelled: Dataset = {
    images,
    labels: new Uint8Array(files.length),
    count: files.length,
    height,
    width,
    channels,
    classNames: Array.from({ length: classifier.classes }, (_, k) => String(k)),
    source: 'image files',
  };
  const result = await predict(classifier, unlabelled, { batchSize: options.batchSize, normalize });
  return { ...result, inverted };
}
