import { describe, expect, it } from 'vitest';
import { toOnnxBytes, toOnnxModel } from './export.js';
import { irToGraph } from './graph.js';
import { flattenPermutation } from './layers/flatten.js';
import { modelToIr } from './layers.js';
import { encodeModel } from './proto/codec.js';
import {
  maxAbsDiff,
  nhwcToNchw,
  randomizeWeights,
  rng,
  runOrt,
  tfOutputs,
  uniform,
} from './testing/helpers.js';
import * as tf from './tfjs.js';

/** conv → flatten → dense: 3 channels on a 4x5 map, so NHWC and NCHW flatten orders differ. */
function convFlattenDense(): tf.LayersModel {
  const m = tf.sequential({ name: 'flatten_order' });
  m.add(tf.layers.conv2d({ inputShape: [6, 7, 2], filters: 3, kernelSize: [3, 3], activation: 'relu' }));
  m.add(tf.layers.flatten());
  m.add(tf.layers.dense({ units: 4, activation: 'softmax' }));
  return m;
}

describe('Keras (NHWC) flatten order in the NCHW graph', () => {
  const model = convFlattenDense();
  randomizeWeights(model, 5);
  const shape = [32, 6, 7, 2];
  const x = uniform(32 * 6 * 7 * 2, rng(9));
  const nchw = nhwcToNchw(x, shape);
  const { logits } = tfOutputs(model, x, shape);

  it('the permutation maps NCHW positions to NHWC ones', () => {
    const perm = flattenPermutation(3, 2, 2);
    // NCHW index of (c=1, y=0, x=1) is 1*4 + 0*2 + 1 = 5; its NHWC index is (0*2 + 1)*3 + 1 = 4.
    expect(perm[5]).toBe(4);
    expect([...perm].sort((a, b) => a - b)).toEqual(Array.from({ length: 12 }, (_, i) => i));
  });

  it('permuting the Dense rows matches TensorFlow.js (and really permutes them)', async () => {
    const got = await runOrt(
      toOnnxBytes(model, { logits: true, flatten: 'permute-weights' }),
      nchw,
      [32, 2, 6, 7],
    );
    expect(maxAbsDiff(got, logits)).toBeLessThan(1e-4);
    const { model: proto } = toOnnxModel(model, { flatten: 'permute-weights' });
    expect(proto.graph!.node!.map((n) => n.op_type)).not.toContain('Transpose');
    const gemmW = proto.graph!.initializer!.find((t) => t.name === `${model.layers[2].name}/W`)!;
    const exported = new Float32Array(gemmW.raw_data!.slice().buffer);
    const original = model.layers[2].getWeights()[0].dataSync();
    expect(exported.length).toBe(original.length);
    expect(maxAbsDiff(exported, original)).toBeGreaterThan(1e-3);
  });

  it('transposing back to NHWC before Flatten matches TensorFlow.js', async () => {
    const bytes = toOnnxBytes(model, { logits: true, flatten: 'transpose' });
    const got = await runOrt(bytes, nchw, [32, 2, 6, 7]);
    expect(maxAbsDiff(got, logits)).toBeLessThan(1e-4);
    const { model: proto } = toOnnxModel(model, { flatten: 'transpose' });
    expect(proto.graph!.node!.map((n) => n.op_type)).toEqual([
      'Conv',
      'Relu',
      'Transpose',
      'Flatten',
      'Gemm',
      'Softmax',
    ]);
  });

  it('a naive NCHW flatten would silently give different logits', async () => {
    const ir = modelToIr(model, { flatten: 'unsafe-nchw' });
    ir.ops = ir.ops.filter((o) => !(o.kind === 'activation' && o.fn === 'softmax'));
    const graph = irToGraph(ir, {
      graphName: 'naive',
      inputName: 'input',
      outputName: 'logits',
      inputLayout: 'NCHW',
      weightType: 'float32',
      batchDim: 'batch',
    });
    const bytes = encodeModel({ ir_version: 8, opset_import: [{ domain: '', version: 17 }], graph });
    const got = await runOrt(bytes, nchw, [32, 2, 6, 7]);
    expect(maxAbsDiff(got, logits)).toBeGreaterThan(1e-2);
  });
});
