import { useBackend } from '@lenet/backend';
import { afterEach, describe, expect, it } from 'vitest';
import { loadMnistPair } from '../data.js';
import * as tf from '../tfjs.js';
import { variantSpec } from '../variants.js';
import { runTfjsInferCell } from './infer-cell.js';

const timing = { iterations: 2, timeMs: 0, warmupIterations: 1 };

describe('the TensorFlow.js inference cell', () => {
  afterEach(() => {
    delete process.env.LENET_COMPILED_INFERENCE;
  });

  it('times the pass predict and evaluate run: compiled on wasm, model.predict when switched off, and says which', async () => {
    await useBackend('wasm');
    const data = await loadMnistPair();
    const ctx = {
      model: 'lenet5',
      spec: variantSpec('lenet5'),
      backend: 'wasm' as const,
      batch: 8,
      timing,
      data,
    };
    const before = tf.memory().numTensors;
    const compiled = await runTfjsInferCell(ctx);
    expect(compiled.status).toBe('ok');
    expect(compiled.note).toBe(
      'compiled inference pass (@lenet/train modelClassifier, as predict/evaluate run it)',
    );
    // the compiled pass makes no tensor per call: nothing beyond the weights
    expect(compiled.memory!.numTensors).toBe(10);
    process.env.LENET_COMPILED_INFERENCE = '0';
    const tfjs = await runTfjsInferCell(ctx);
    expect(tfjs.note).toBe(
      'model.predict through @lenet/train modelClassifier (not compiled: LENET_COMPILED_INFERENCE=0)',
    );
    expect(tfjs.samplesPerSec).toBeGreaterThan(0);
    expect(tf.memory().numTensors).toBe(before);
  }, 60_000);
});
