/** Helpers shared by this package's tests (not part of the public API). */

import * as ort from 'onnxruntime-node';
import { tensorValueInfo } from '../graph.js';
import { encodeModel } from '../proto/codec.js';
import { AttributeType, DataType, type ModelProto } from '../proto/types.js';
import * as tf from '../tfjs.js';

/** A small seeded PRNG (mulberry32) so tests are reproducible. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `n` uniform values in [lo, hi). */
export function uniform(n: number, rand: () => number, lo = 0, hi = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * rand();
  return out;
}

/**
 * Moves every weight away from its initial value: kernels get noise added, biases become
 * non-zero, BatchNorm gets random γ, β, moving mean and moving variance (as after training).
 */
export function randomizeWeights(model: tf.LayersModel, seed: number): void {
  const rand = rng(seed);
  for (const layer of model.layers) {
    if (layer.weights.length === 0) continue;
    const next = layer.weights.map((v, i) => {
      const name = v.originalName ?? v.name;
      const current = layer.getWeights()[i];
      const n = current.size;
      let data: Float32Array;
      if (name.endsWith('gamma')) data = uniform(n, rand, 0.7, 1.3);
      else if (name.endsWith('beta')) data = uniform(n, rand, -0.3, 0.3);
      else if (name.endsWith('moving_mean')) data = uniform(n, rand, -0.3, 0.3);
      else if (name.endsWith('moving_variance')) data = uniform(n, rand, 0.5, 1.5);
      else if (name.endsWith('bias')) data = uniform(n, rand, -0.1, 0.1);
      else {
        data = Float32Array.from(current.dataSync() as Float32Array);
        for (let j = 0; j < n; j++) data[j] *= 0.75 + 0.5 * rand();
      }
      return tf.tensor(data, current.shape);
    });
    layer.setWeights(next);
    tf.dispose(next);
  }
}

/** TensorFlow.js output (probabilities) for NHWC input `x`. */
export function tfPredict(model: tf.LayersModel, x: Float32Array, shape: number[]): Float32Array {
  return tf.tidy(() => (model.predict(tf.tensor(x, shape)) as tf.Tensor).dataSync() as Float32Array).slice();
}

/**
 * TensorFlow.js logits and probabilities from one forward pass: the model is evaluated up to its
 * final softmax (a trailing softmax Activation is skipped; a final Dense with softmax is applied
 * without it), and tf.softmax of those logits gives the probabilities.
 */
export function tfOutputs(
  model: tf.LayersModel,
  x: Float32Array,
  shape: number[],
): { logits: Float32Array; probabilities: Float32Array } {
  const [logits, probabilities] = tf.tidy(() => {
    const layers = model.layers;
    const last = layers[layers.length - 1];
    const cfg = last.getConfig() as { activation?: string };
    const input = tf.tensor(x, shape);
    const penultimate = () =>
      tf
        .model({ inputs: model.inputs, outputs: layers[layers.length - 2].output as tf.SymbolicTensor })
        .predict(input) as tf.Tensor2D;
    let z: tf.Tensor;
    if (last.getClassName() === 'Activation' && cfg.activation === 'softmax') {
      z = penultimate();
    } else if (last.getClassName() === 'Dense' && cfg.activation === 'softmax') {
      const [kernel, bias] = last.getWeights();
      z = tf.add(tf.matMul(penultimate(), kernel as tf.Tensor2D), bias ?? 0);
    } else {
      const y = model.predict(input) as tf.Tensor;
      return [y.dataSync() as Float32Array, y.dataSync() as Float32Array];
    }
    return [z.dataSync() as Float32Array, tf.softmax(z).dataSync() as Float32Array];
  });
  return { logits: logits.slice(), probabilities: probabilities.slice() };
}

/** NHWC → NCHW copy. */
export function nhwcToNchw(x: Float32Array, [n, h, w, c]: number[]): Float32Array {
  const out = new Float32Array(x.length);
  for (let b = 0; b < n; b++)
    for (let y = 0; y < h; y++)
      for (let xx = 0; xx < w; xx++)
        for (let ch = 0; ch < c; ch++)
          out[((b * c + ch) * h + y) * w + xx] = x[((b * h + y) * w + xx) * c + ch];
  return out;
}

/** Runs ONNX bytes in onnxruntime-node on one float input; returns the first output. */
export async function runOrt(bytes: Uint8Array, x: Float32Array, shape: number[]): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
  try {
    const result = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', x, shape) });
    return result[session.outputNames[0]].data as Float32Array;
  } finally {
    await session.release();
  }
}

/** Largest absolute element-wise difference. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length mismatch ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/**
 * A model as another producer would write it (a PyTorch-style export): input `input` NCHW
 * `[batch, 1, 8, 8]` (or a fixed batch), Flatten → Gemm with transB = 1, output `output` logits,
 * opset 13, no metadata. Returns the bytes and the weights to check predictions by hand.
 */
export function foreignModel(batch: number | 'batch' = 'batch'): {
  bytes: Uint8Array;
  weight: Float32Array;
  bias: Float32Array;
} {
  const rand = rng(42);
  const weight = uniform(3 * 64, rand, -1, 1); // [3, 64], used transposed
  const bias = uniform(3, rand, -1, 1);
  const model: ModelProto = {
    ir_version: 7,
    producer_name: 'pytorch',
    producer_version: '2.1.0',
    opset_import: [{ domain: '', version: 13 }],
    graph: {
      name: 'main_graph',
      input: [tensorValueInfo('input', [batch, 1, 8, 8])],
      output: [tensorValueInfo('output', [batch, 3])],
      initializer: [
        {
          name: 'fc.weight',
          dims: [3, 64],
          data_type: DataType.FLOAT,
          raw_data: new Uint8Array(weight.buffer.slice(0)),
        },
        {
          name: 'fc.bias',
          dims: [3],
          data_type: DataType.FLOAT,
          raw_data: new Uint8Array(bias.buffer.slice(0)),
        },
      ],
      node: [
        {
          op_type: 'Flatten',
          name: '/Flatten',
          input: ['input'],
          output: ['/Flatten_output_0'],
          attribute: [{ name: 'axis', type: AttributeType.INT, i: 1 }],
        },
        {
          op_type: 'Gemm',
          name: '/fc/Gemm',
          input: ['/Flatten_output_0', 'fc.weight', 'fc.bias'],
          output: ['output'],
          attribute: [{ name: 'transB', type: AttributeType.INT, i: 1 }],
        },
      ],
    },
  };
  return { bytes: encodeModel(model), weight, bias };
}

/** A valid ONNX model whose input is not an image: `[batch, 10]` → MatMul → `[batch, 2]`. */
export function vectorModel(): Uint8Array {
  return encodeModel({
    ir_version: 8,
    opset_import: [{ domain: '', version: 17 }],
    graph: {
      name: 'mlp',
      input: [tensorValueInfo('features', ['batch', 10])],
      output: [tensorValueInfo('scores', ['batch', 2])],
      initializer: [{ name: 'W', dims: [10, 2], data_type: DataType.FLOAT, raw_data: new Uint8Array(80) }],
      node: [{ op_type: 'MatMul', name: 'mm', input: ['features', 'W'], output: ['scores'] }],
    },
  });
}
