import { describe, expect, it, vi } from 'vitest';
import * as compiledInference from './compiled-inference.js';
import { evaluateSums } from './evaluate.js';
import { fit } from './index.js';
import { modelInfo } from './model-info.js';
import { mnistHead, model, useWasm } from './testing/helpers.js';
import * as tf from './tfjs.js';

// Counts the inference passes made, the real ones still run.
vi.mock('./compiled-inference.js', async (original) => {
  const actual = await original<typeof import('./compiled-inference.js')>();
  return { ...actual, modelInference: vi.fn(actual.modelInference) };
});

describe("fit's validation from epoch to epoch", () => {
  it('keeps one compiled pass, which follows the weights and the recalibrated batch-norm statistics', async () => {
    await useWasm();
    const train = await mnistHead('train', 240);
    const val = await mnistHead('test', 70);
    // Dropout before batch norm: fit recalibrates the statistics after every epoch.
    const m = model('torch-bn', 2).model;
    const info = modelInfo(m);
    const made = vi.mocked(compiledInference.modelInference);
    made.mockClear();
    const fresh: { loss: number; correct: number }[] = [];
    const before = tf.memory().numTensors;
    const r = await fit(m, train, {
      epochs: 3,
      batchSize: 40,
      validation: val,
      validationBatchSize: 32,
      callbacks: [
        {
          // A pass made afresh after the epoch, as a separate evaluate would make it.
          async onEpochEnd() {
            fresh.push(await evaluateSums(m, val, info, 32, 'unit'));
          },
        },
      ],
    });
    // One for fit's validation, one per epoch for the callback's own.
    expect(made).toHaveBeenCalledTimes(1 + 3);
    expect(made.mock.results.every((res) => res.value.path.kind === 'compiled')).toBe(true);
    r.history.forEach((h, i) => {
      expect(h.valLoss, `epoch ${i}`).toBe(fresh[i].loss / val.count);
      expect(h.valAccuracy).toBe(fresh[i].correct / val.count);
    });
    // The epochs trained: the kept pass saw new weights each time.
    expect(new Set(r.history.map((h) => h.valLoss)).size).toBe(3);
    expect(tf.memory().numTensors).toBe(before);
    m.dispose();
  });
});
