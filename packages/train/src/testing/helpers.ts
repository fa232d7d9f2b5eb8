/** Shared test fixtures (not part of the published package: excluded from the build). */

import { useBackend } from '@lenet/backend';
import { batches, type Dataset, head, loadMnist } from '@lenet/datasets';
import type { ModelSpec } from '@lenet/models';
import { getPreset } from '@lenet/models';
import { buildModel } from '@lenet/models/tf';
import { DEFAULT_AUGMENT } from '../fit.js';
import { createTrainStep } from '../step.js';
import type * as tf from '../tfjs.js';

const cache = new Map<string, Promise<Dataset>>();

/** The real MNIST split (cached per process). */
export function mnist(split: 'train' | 'test'): Promise<Dataset> {
  let ds = cache.get(split);
  if (!ds) {
    ds = loadMnist({ split });
    cache.set(split, ds);
  }
  return ds;
}

/** The first `n` images of a real MNIST split. */
export async function mnistHead(split: 'train' | 'test', n: number): Promise<Dataset> {
  return head(await mnist(split), n);
}

let backend: Promise<unknown> | undefined;

/** Switches to the wasm backend (with its training kernels) once per process. */
export function useWasm(): Promise<unknown> {
  backend ??= useBackend('wasm');
  return backend;
}

/** A small conv net for fast tests: conv 4@5x5 → pool → dense 10. */
export const tinySpec: ModelSpec = {
  name: 'tiny',
  input: [28, 28, 1],
  classes: 10,
  layers: [
    { type: 'conv2d', filters: 4, kernel: 5, activation: 'relu' },
    { type: 'maxPool', size: 4 },
    { type: 'flatten' },
    { type: 'dense', units: 10, activation: 'softmax' },
  ],
};

/** Builds a preset (or the tiny spec) with a fixed seed. */
export function model(name: string, seed = 1): { model: tf.LayersModel; spec: ModelSpec } {
  const spec = name === 'tiny' ? tinySpec : name === 'tiny-bn' ? tinyBnSpec : getPreset(name).spec;
  return { model: buildModel(spec, { seed }), spec };
}

/** A net the compiled passes do not cover: a dense layer with an elu activation. */
export const eluSpec: ModelSpec = {
  name: 'elu',
  input: [28, 28, 1],
  classes: 10,
  layers: [
    { type: 'flatten' },
    { type: 'dense', units: 8, activation: 'elu' },
    { type: 'dense', units: 10, activation: 'softmax' },
  ],
};

/** The tiny net with batch norm and dropout, to exercise training-mode layers. */
export const tinyBnSpec: ModelSpec = {
  name: 'tiny-bn',
  input: [28, 28, 1],
  classes: 10,
  layers: [
    { type: 'conv2d', filters: 4, kernel: 5 },
    { type: 'batchNorm', momentum: 0.9 },
    { type: 'activation', activation: 'relu' },
    { type: 'maxPool', size: 4 },
    { type: 'flatten' },
    { type: 'dropout', rate: 0.25 },
    { type: 'dense', units: 10, activation: 'softmax' },
  ],
};

/** A synthetic data set (for shape and label checks; not learnable). */
export function synthetic(count: number, options: Partial<Dataset> = {}): Dataset {
  const height = options.height ?? 28;
  const width = options.width ?? 28;
  const channels = options.channels ?? 1;
  const images = new Uint8Array(count * height * width * channels);
  for (let i = 0; i < images.length; i++) images[i] = (i * 37) % 256;
  const labels = options.labels ?? Uint8Array.from({ length: count }, (_, i) => i % 10);
  return {
    images,
    labels,
    count,
    height,
    width,
    channels,
    classNames: Array.from({ length: 10 }, (_, i) => String(i)),
    source: 'synthetic',
    ...options,
  };
}

/**
 * `epochs` epochs of `createTrainStep` on `byHand` over the batches `fit` draws (shuffled, seeded,
 * fit's default augmentation), as a reference for `fit`: each epoch's mean loss.
 */
export async function trainByHand(
  byHand: tf.LayersModel,
  train: Dataset,
  options: { batchSize: number; seed: number; learningRate: number },
  epochs: number,
): Promise<number[]> {
  const step = createTrainStep(byHand, { seed: options.seed });
  const losses: number[] = [];
  let k = 0;
  for (let epoch = 0; epoch < epochs; epoch++) {
    step.sums.reset();
    for (const b of batches(train, { ...options, shuffle: true, epoch, augment: DEFAULT_AUGMENT })) {
      step.run(b, options.learningRate, k++);
    }
    losses.push((await step.sums.read()).loss / train.count);
  }
  step.dispose();
  return losses;
}
