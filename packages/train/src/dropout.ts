import { mixSeed } from '@lenet/datasets';
import type * as tf from './tfjs.js';

/**
 * Class names of the layers that draw a random mask in training: Dropout and its variants
 * (SpatialDropout1D, GaussianDropout, AlphaDropout) and GaussianNoise. GaussianNoise is seeded
 * too, so that a dropout layer's index, and with it its seed, does not depend on whether noise
 * layers come before it.
 */
const RANDOM_MASK = /Dropout|GaussianNoise/;

/** A layer with a random training-time mask, as the training loop touches it. */
export interface DropoutLayer {
  /** Seed of the next mask (tfjs-layers' Dropout reads it at every call). */
  seed?: number;
  /** Drop rate; absent on GaussianNoise, which adds noise of a fixed deviation instead. */
  rate?: number;
}

/** Options of {@link isDropoutLayer} and {@link dropoutLayers}. */
export interface DropoutLayerFilter {
  /** Only layers with a drop rate (leaves GaussianNoise out). */
  withRate?: boolean;
}

/** Whether `layer` draws a random mask in training (with a drop rate, if asked). */
export function isDropoutLayer(layer: tf.layers.Layer, filter: DropoutLayerFilter = {}): boolean {
  if (!RANDOM_MASK.test(layer.getClassName())) return false;
  return !filter.withRate || typeof (layer as unknown as DropoutLayer).rate === 'number';
}

/** The model's layers with a random training-time mask, in model order. */
export function dropoutLayers(model: tf.LayersModel, filter: DropoutLayerFilter = {}): DropoutLayer[] {
  return model.layers.filter((l) => isDropoutLayer(l, filter)).map((l) => l as unknown as DropoutLayer);
}

/** Salt of the dropout seeds; shard k of a data-parallel step uses `DROPOUT_SALT + k`. */
const DROPOUT_SALT = 0xd0;

/** The mask seed of each of `count` dropout layers at training step `step` (shard 0: the whole batch). */
export function dropoutSeeds(count: number, seed: number, step: number, shard = 0): number[] {
  return Array.from({ length: count }, (_, i) => mixSeed(seed, step, i, DROPOUT_SALT + shard));
}

/** Gives layer `i` the seed `seeds[i]` (undefined: tfjs's own random mask). */
export function setDropoutSeeds(
  layers: readonly DropoutLayer[],
  seeds: readonly (number | undefined)[],
): void {
  layers.forEach((layer, i) => {
    layer.seed = seeds[i];
  });
}
