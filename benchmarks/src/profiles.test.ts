import { describe, expect, it } from 'vitest';
import { PROFILES, VALIDATION_PER_TRAINING_IMAGE } from './profiles.js';

/** Images in the MNIST training set, where every `fit` cell takes its training and validation images. */
const MNIST_TRAINING_IMAGES = 60_000;

describe('profiles', () => {
  for (const profile of Object.values(PROFILES)) {
    it(`${profile.name}: every fit cell's epoch and validation set fit in the MNIST training set`, () => {
      for (const model of profile.models) {
        const o = profile.overrides[model];
        const budget = { ...profile.parallel, ...o?.parallel };
        for (const batch of o?.trainBatchSizes ?? profile.trainBatchSizes) {
          const train = budget.batchesPerEpoch * batch;
          const needed = train + Math.ceil(train * VALIDATION_PER_TRAINING_IMAGE);
          expect(needed, `${profile.name} ${model} b${batch}`).toBeLessThanOrEqual(MNIST_TRAINING_IMAGES);
        }
      }
    });
  }

  it('full: mlp2 epochs last long enough to be timed (at least 100 batches)', () => {
    const full = PROFILES.full;
    const budget = { ...full.parallel, ...full.overrides.mlp2?.parallel };
    expect(budget.batchesPerEpoch).toBeGreaterThanOrEqual(100);
  });
});
