import { useBackend } from '@lenet/backend';
import { buildModel } from '@lenet/models/tf';
import { describe, expect, it } from 'vitest';
import { loadMnistPair } from '../data.js';
import * as tf from '../tfjs.js';
import { variantSpec } from '../variants.js';
import { runTfjsInferCell } from './infer-cell.js';
import { runTrainCell } from './train-cell.js';

const timing = { iterations: 3, timeMs: 0, warmupIterations: 1 };

describe('what a cell allocates', () => {
  it('reports the tensors a training cell holds and its peak within a step, not the process RSS', async () => {
    await useBackend('cpu');
    const spec = variantSpec('mlp2');
    const data = await loadMnistPair();
    const before = tf.memory().numBytes;
    const train = await runTrainCell({ model: 'mlp2', spec, backend: 'cpu', batch: 32, timing, data });
    const m = train.memory!;
    // mlp2's weights plus Adam's two moments, in float32 (to the 0.1 MiB the report rounds to)
    const model = buildModel(spec, { seed: 1 });
    const params = model.countParams();
    model.dispose();
    expect(m.tensorMb!).toBeCloseTo((3 * params * 4) / 2 ** 20, 1);
    // a step's activations and gradients come on top of what the cell holds between steps
    expect(m.peakTensorMb!).toBeGreaterThan(m.tensorMb!);
    expect(m.leakedTensorsPerIteration).toBe(0);
    expect(m.rssGrowthMb).toBeGreaterThanOrEqual(0);
    const infer = await runTfjsInferCell({ model: 'mlp2', spec, backend: 'cpu', batch: 32, timing, data });
    // inference holds the weights (no optimizer state); the batch is uploaded within each call
    expect(infer.memory!.tensorMb!).toBeLessThan(m.tensorMb!);
    expect(infer.note).toBe('model.predict through @lenet/train modelClassifier (not compiled: backend cpu)');
    expect(infer.memory!.peakTensorMb!).toBeGreaterThanOrEqual(infer.memory!.tensorMb!);
    // nothing is left behind once the cells are done
    expect(tf.memory().numBytes).toBe(before);
  });
});
