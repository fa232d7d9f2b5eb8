import { describe, expect, it, vi } from 'vitest';
import { fit } from './index.js';
import { setBatchWriteAheadEnabled } from './loop.js';
import { mnistHead, model, trainByHand, useWasm } from './testing/helpers.js';

/** Samples `fit` wrote ahead through the idle-work hook. */
let writtenAhead = 0;

// The worst case of the write-ahead, made certain: every step waits long enough for the whole next
// batch to be written (the real hook writes only while a helper thread is still busy).
vi.mock('@lenet/backend', async (importOriginal) => {
  const actual = await importOriginal<typeof import('@lenet/backend')>();
  return {
    ...actual,
    setKernelIdleWork(work: (() => boolean) | null) {
      while (work?.()) writtenAhead++;
      return null;
    },
  };
});

describe('fit writing the next batch ahead during a step (and the end of an epoch)', () => {
  it('trains on exactly the batches batches() draws, as without it', async () => {
    await useWasm();
    // 40 samples in batches of 16: a partial last batch; augmentation draws per sample in order.
    const train = await mnistHead('train', 40);
    const validation = await mnistHead('test', 20);
    const options = { batchSize: 16, seed: 4, learningRate: 1e-3 };
    const epochs = 2;
    const { model: byHand } = model('tiny-bn', 2);
    const losses = await trainByHand(byHand, train, options, epochs);
    const weights = byHand.getWeights().map((w) => w.dataSync());
    for (const on of [true, false]) {
      setBatchWriteAheadEnabled(on);
      writtenAhead = 0;
      const { model: viaFit } = model('tiny-bn', 2);
      const r = await fit(viaFit, train, { ...options, epochs, augment: true, validation });
      // Each epoch's batches after its first, written whole during the step before them, and the
      // first batch of every epoch after the first, during the end of the epoch before.
      expect(writtenAhead).toBe(on ? epochs * (40 - 16) + (epochs - 1) * 16 : 0);
      expect(r.history.map((h) => h.loss)).toEqual(losses);
      expect(viaFit.getWeights().map((w) => w.dataSync())).toEqual(weights);
      viaFit.dispose();
    }
    setBatchWriteAheadEnabled(true);
    byHand.dispose();
  });
});
