import { mkdir, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useBackend } from '@lenet/backend';
import { staleTempEntries } from '@lenet/common';
import { getPreset } from '@lenet/models';
import { buildModel } from '@lenet/models/tf';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkOnnxModel } from './check.js';
import { exportOnnx, toOnnxBytes, toOnnxModel } from './export.js';
import { decodeModel } from './proto/codec.js';
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

let dir: string;
beforeAll(async () => {
  await useBackend('wasm');
  dir = await mkdtemp(join(tmpdir(), 'lenet-onnx-export-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function parity(
  model: tf.LayersModel,
  options: Parameters<typeof toOnnxBytes>[1] = {},
  n = 16,
): Promise<number> {
  const [, h, w, c] = model.inputs[0].shape as number[];
  const x = uniform(n * h * w * c, rng(21));
  const { logits } = tfOutputs(model, x, [n, h, w, c]);
  const got = await runOrt(toOnnxBytes(model, { ...options, logits: true }), nhwcToNchw(x, [n, h, w, c]), [
    n,
    c,
    h,
    w,
  ]);
  return maxAbsDiff(got, logits);
}

describe('layer coverage', () => {
  it('every supported activation, padding layer, dilation, GAP and stand-alone activation layers match', async () => {
    const m = tf.sequential({ name: 'zoo' });
    m.add(
      tf.layers.zeroPadding2d({
        inputShape: [11, 9, 2],
        padding: [
          [1, 2],
          [0, 1],
        ],
      }),
    );
    m.add(tf.layers.conv2d({ filters: 4, kernelSize: 3, activation: 'swish' }));
    m.add(tf.layers.zeroPadding2d({ padding: 1 }));
    m.add(tf.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same' }));
    m.add(
      tf.layers.conv2d({ filters: 5, kernelSize: 2, dilationRate: 2, padding: 'same', activation: 'mish' }),
    );
    m.add(tf.layers.leakyReLU({ alpha: 0.2 }));
    m.add(tf.layers.conv2d({ filters: 5, kernelSize: 1, activation: 'selu' }));
    m.add(tf.layers.reLU({ maxValue: 0.8 }));
    m.add(tf.layers.conv2d({ filters: 6, kernelSize: 1, activation: 'hardSigmoid' }));
    m.add(tf.layers.elu());
    m.add(tf.layers.conv2d({ filters: 6, kernelSize: 1, activation: 'softplus' }));
    m.add(tf.layers.activation({ activation: 'softsign' }));
    m.add(tf.layers.batchNormalization());
    m.add(tf.layers.activation({ activation: 'relu6' }));
    m.add(tf.layers.averagePooling2d({ poolSize: 2, strides: 2, padding: 'same' }));
    m.add(tf.layers.globalAveragePooling2d({}));
    m.add(tf.layers.dense({ units: 7, activation: 'sigmoid' }));
    m.add(tf.layers.dense({ units: 3 }));
    m.add(tf.layers.activation({ activation: 'softmax' }));
    randomizeWeights(m, 2);
    expect(await parity(m, { foldBatchNorm: false })).toBeLessThan(1e-4);
    expect(await parity(m)).toBeLessThan(1e-4);
    const ops = toOnnxModel(m).model.graph!.node!.map((n) => n.op_type);
    expect(ops.filter((o) => o === 'Pad')).toHaveLength(1); // the first pad is fused into the conv
    m.dispose();
  });
});

describe('BatchNorm without centre or scale', () => {
  it('uses γ = 1 and β = 0 and still matches, folded or not', async () => {
    const m = tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [6, 6, 2], filters: 3, kernelSize: 3 }),
        tf.layers.batchNormalization({ center: false, scale: false, epsilon: 0.01 }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 4 }),
        tf.layers.batchNormalization({ center: false }),
        tf.layers.dense({ units: 2, activation: 'softmax' }),
      ],
    });
    randomizeWeights(m, 8);
    expect(await parity(m, { foldBatchNorm: false })).toBeLessThan(1e-4);
    expect(await parity(m, { foldBatchNorm: true })).toBeLessThan(1e-4);
    expect(toOnnxModel(m, { foldBatchNorm: true }).summary.foldedBatchNorms).toBe(2);
    m.dispose();
  });
});

describe('options', () => {
  const { spec } = getPreset('lenet5');
  const model = buildModel(spec, { seed: 1 });
  randomizeWeights(model, 4);

  it('float16 weights: about half the file, logits within 5e-3 of TensorFlow.js', async () => {
    const f32 = toOnnxBytes(model);
    const f16 = toOnnxBytes(model, { weightType: 'float16' });
    expect(f16.length / f32.length).toBeLessThan(0.56);
    expect(checkOnnxModel(f16).errors).toEqual([]);
    const diff = await parity(model, { weightType: 'float16' }, 64);
    expect(diff).toBeLessThan(5e-3);
    expect(diff).toBeGreaterThan(0); // the weights really were rounded
  });

  it('every opset from 13 to 21 loads and gives the same logits; others are refused', async () => {
    for (let opset = 13; opset <= 21; opset++) {
      expect(await parity(model, { opset }, 4), `opset ${opset}`).toBeLessThan(1e-4);
    }
    expect(() => toOnnxBytes(model, { opset: 12 })).toThrow('opset must be an integer from 13 to 21, got 12');
    expect(() => toOnnxBytes(model, { opset: 22 })).toThrow('opset must be an integer from 13 to 21, got 22');
  });

  it('{ spec, weights } (list or by name) writes the same model as the LayersModel', () => {
    const fromModel = toOnnxBytes(model);
    const list = model.getWeights();
    expect(toOnnxBytes({ spec, weights: list })).toEqual(fromModel);
    const byName = Object.fromEntries(model.weights.map((v, i) => [v.originalName, list[i]]));
    expect(toOnnxBytes({ spec, weights: byName })).toEqual(fromModel);
    expect(() => toOnnxBytes({ spec, weights: list.slice(1) })).toThrow(
      /has \d+ weight tensors but \d+ were given/,
    );
  });

  it('exportOnnx writes the file and reports what it wrote', async () => {
    const path = join(dir, 'sub', 'lenet5.onnx');
    const result = await exportOnnx(model, path, { inputLayout: 'NHWC' });
    expect(result).toMatchObject({
      path,
      opset: 17,
      irVersion: 8,
      inputName: 'input',
      inputShape: ['batch', 28, 28, 1],
      inputLayout: 'NHWC',
      outputName: 'probabilities',
      output: 'probabilities',
    });
    expect((await stat(path)).size).toBe(result.bytes);
    expect(decodeModel(await readFile(path)).graph!.node![0].op_type).toBe('Transpose');
  });

  it('a write that fails (the path is a directory) leaves no temp file behind', async () => {
    const target = join(dir, 'is-a-dir');
    await mkdir(join(target, 'inside'), { recursive: true });
    await expect(exportOnnx(model, target)).rejects.toThrow(/EISDIR|ENOTEMPTY|EEXIST|directory/i);
    expect(await staleTempEntries(dir)).toEqual([]);
  });
});

describe('export errors', () => {
  it('an unsupported layer names the layer; nothing is left at the path, not even a temp file', async () => {
    const m = tf.sequential({ name: 'has_upsampling' });
    m.add(tf.layers.conv2d({ inputShape: [8, 8, 1], filters: 2, kernelSize: 3 }));
    m.add(tf.layers.upSampling2d({ size: [2, 2], name: 'up' }));
    m.add(tf.layers.flatten());
    m.add(tf.layers.dense({ units: 2 }));
    const out = join(dir, 'failed');
    const path = join(out, 'bad.onnx');
    await expect(exportOnnx(m, path)).rejects.toMatchObject({
      code: 'UNSUPPORTED_LAYER',
      message: expect.stringMatching(
        /^layer "up" \(UpSampling2D\) cannot be exported to ONNX; supported layers: Conv2D/,
      ),
    });
    await expect(readdir(out)).rejects.toThrow(/ENOENT/);
    await exportOnnx(getTinyModel(), join(out, 'ok.onnx'));
    await expect(exportOnnx(m, join(out, 'ok.onnx'))).rejects.toThrow(/UpSampling2D/);
    expect(await readdir(out)).toEqual(['ok.onnx']);
    m.dispose();
  });

  it('an unsupported activation, a non-image (rank-2) model and a non-chain model are refused clearly', () => {
    const gelu = tf.sequential();
    gelu.add(
      tf.layers.conv2d({ inputShape: [4, 4, 1], filters: 1, kernelSize: 1, activation: 'gelu', name: 'c' }),
    );
    expect(() => toOnnxBytes(gelu)).toThrow(/layer "c" \(Conv2D\): activation "gelu" is not supported/);

    const mlp = tf.sequential({ name: 'mlp' });
    mlp.add(tf.layers.dense({ inputShape: [10], units: 2 }));
    expect(() => toOnnxBytes(mlp)).toThrow(
      'model "mlp" input shape is [null, 10]; expected an image tensor [N, H, W, C] with fixed H, W, C',
    );

    const input = tf.input({ shape: [4, 4, 1] });
    const a = tf.layers.conv2d({ filters: 1, kernelSize: 1, name: 'a' }).apply(input) as tf.SymbolicTensor;
    const b = tf.layers.add({ name: 'skip' }).apply([a, input]) as tf.SymbolicTensor;
    const residual = tf.model({ inputs: input, outputs: tf.layers.flatten().apply(b) as tf.SymbolicTensor });
    expect(() => toOnnxBytes(residual)).toThrow(
      /layer "skip" \(Add\) is not fed by the layer before it; only linear chains/,
    );
  });

  it('bad options', () => {
    const m = getTinyModel();
    expect(() => toOnnxBytes(m, { inputLayout: 'NCWH' as 'NCHW' })).toThrow(
      "inputLayout must be 'NCHW' or 'NHWC', got NCWH",
    );
    expect(() => toOnnxBytes(m, { classNames: ['a'] })).toThrow(
      'classNames has 1 names but the model outputs 2 classes',
    );
  });
});

function getTinyModel(): tf.LayersModel {
  const m = tf.sequential({ name: 'tiny_ok' });
  m.add(tf.layers.conv2d({ inputShape: [8, 8, 1], filters: 2, kernelSize: 3 }));
  m.add(tf.layers.flatten());
  m.add(tf.layers.dense({ units: 2, activation: 'softmax' }));
  return m;
}
