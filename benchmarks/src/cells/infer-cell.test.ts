import { availableParallelism } from 'node:os';
import { useBackend } from '@lenet/backend';
import { afterEach, describe, expect, it } from 'vitest';
import { loadMnistPair } from '../data.js';
import * as tf from '../tfjs.js';
import { variantSpec } from '../variants.js';
import { ortThreadCounts, runOrtInferCell, runTfjsInferCell } from './infer-cell.js';

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
    // the compiled pass makes no tensor per call: the weights (10), and its buffers, kept from one
    // call to the next (the input, 5 stages' outputs — each conv runs with its pooling — and the
    // scratch block)
    expect(compiled.memory!.numTensors).toBe(10 + 7);
    process.env.LENET_COMPILED_INFERENCE = '0';
    const tfjs = await runTfjsInferCell(ctx);
    expect(tfjs.note).toBe(
      'model.predict through @lenet/train modelClassifier (not compiled: LENET_COMPILED_INFERENCE=0)',
    );
    expect(tfjs.samplesPerSec).toBeGreaterThan(0);
    expect(tf.memory().numTensors).toBe(before);
  }, 60_000);
});

describe('the onnxruntime inference cell', () => {
  afterEach(() => {
    delete process.env.LENET_BENCH_ORT_THREADS;
  });

  it('measures ort-cpu at 1 thread and one per core, as the PyTorch column, unless the environment names one count', () => {
    expect(ortThreadCounts('ort-cpu')).toEqual([...new Set([1, availableParallelism()])]);
    expect(ortThreadCounts('ort-cuda')).toEqual([1]);
    process.env.LENET_BENCH_ORT_THREADS = '3';
    expect(ortThreadCounts('ort-cpu')).toEqual([3]);
  });

  it('keeps the faster of its thread counts and names the other in the note', async () => {
    process.env.LENET_BENCH_ORT_THREADS = '';
    const data = await loadMnistPair();
    const ctx = {
      model: 'mlp2',
      spec: variantSpec('mlp2'),
      backend: 'ort-cpu' as const,
      batch: 4,
      timing,
      data,
    };
    const cell = await runOrtInferCell(ctx);
    expect(cell.status).toBe('ok');
    const counts = ortThreadCounts('ort-cpu');
    expect(counts).toContain(cell.threads);
    expect(cell.note).toMatch(new RegExp(`^\\d+ KiB ONNX, ${cell.threads} intra-op threads?`));
    if (counts.length > 1) expect(cell.note).toMatch(/\(faster than \d intra-op threads?: \d+ samples\/s\)$/);
  }, 60_000);
});
