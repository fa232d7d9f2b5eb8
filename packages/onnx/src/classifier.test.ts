import { execFileSync, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OnnxClassifier } from './classifier.js';
import { exportOnnx } from './export.js';
import { tensorValueInfo } from './graph.js';
import { decodeModel, encodeModel } from './proto/codec.js';
import {
  foreignModel,
  maxAbsDiff,
  nhwcToNchw,
  randomizeWeights,
  rng,
  tfPredict,
  uniform,
  vectorModel,
} from './testing/helpers.js';
import * as tf from './tfjs.js';

let dir: string;
let model: tf.LayersModel;
let path: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lenet-onnx-classifier-'));
  model = tf.sequential({
    name: 'tiny',
    layers: [
      tf.layers.conv2d({ inputShape: [10, 10, 1], filters: 3, kernelSize: 3, activation: 'relu' }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 4, activation: 'softmax' }),
    ],
  });
  randomizeWeights(model, 3);
  path = join(dir, 'tiny.onnx');
  await exportOnnx(model, path, {
    classNames: ['w', 'x', 'y', 'z'],
    preset: 'tiny',
    normalization: { mean: [0.5], std: [0.25] },
  });
});

afterAll(async () => {
  model.dispose();
  await rm(dir, { recursive: true, force: true });
});

describe('OnnxClassifier on our own export', () => {
  it('falls back from cuda to cpu, reports why, and describes the model', async () => {
    const c = await OnnxClassifier.load(path);
    try {
      expect(c.info.executionProvider).toBe('cpu');
      expect(c.info.providerFailures.map((f) => f.provider)).toEqual(['cuda']);
      expect(c.info.providerFailures[0].reason.length).toBeGreaterThan(0);
      expect(c.info).toMatchObject({
        inputName: 'input',
        inputShape: ['batch', 1, 10, 10],
        inputLayout: 'NCHW',
        fixedBatch: null,
        outputName: 'probabilities',
        classes: 4,
        classNames: ['w', 'x', 'y', 'z'],
        output: 'probabilities',
        normalization: { mean: [0.5], std: [0.25] },
        preset: 'tiny',
        opset: 17,
        irVersion: 8,
        session: { threads: 1, spinning: false, graphOptimization: 'all', executionMode: 'sequential' },
      });
      expect(c.info.producer).toMatch(/^@lenet\/onnx \d/);
      // The Classifier interface of @lenet/common, read from the same metadata.
      expect(c).toMatchObject({
        classes: 4,
        inputSize: [10, 10, 1],
        layout: 'NCHW',
        normalization: { mean: [0.5], std: [0.25] },
      });
    } finally {
      await c.dispose();
    }
  });

  it('predicts what TensorFlow.js predicts, in batches, from NCHW or NHWC input', async () => {
    const c = await OnnxClassifier.load(path, { executionProviders: ['cpu'], batchSize: 64 });
    try {
      const n = 150;
      const x = uniform(n * 100, rng(1));
      const expected = tfPredict(model, x, [n, 10, 10, 1]);
      const p = await c.predict(nhwcToNchw(x, [n, 10, 10, 1]), [n, 1, 10, 10]);
      expect(p.count).toBe(n);
      expect(p.classes).toBe(4);
      expect(maxAbsDiff(p.probabilities, expected)).toBeLessThan(1e-5);
      for (let i = 0; i < n; i++) {
        const row = Array.from(expected.subarray(i * 4, i * 4 + 4));
        expect(p.labels[i]).toBe(row.indexOf(Math.max(...row)));
      }
      const fromNhwc = await c.predict(x, [n, 10, 10, 1], { layout: 'NHWC', batchSize: 7 });
      expect(maxAbsDiff(fromNhwc.probabilities, expected)).toBeLessThan(1e-5);
      const viaInterface = await c.probabilities({ x: nhwcToNchw(x, [n, 10, 10, 1]), shape: [n, 1, 10, 10] });
      expect(maxAbsDiff(viaInterface, expected)).toBeLessThan(1e-5);
    } finally {
      await c.dispose();
    }
  });

  it('rejects an input of the wrong length or shape with a clear error', async () => {
    const c = await OnnxClassifier.load(path, { executionProviders: ['cpu'] });
    try {
      await expect(c.predict(new Float32Array(99), [1, 1, 10, 10])).rejects.toThrow(
        'input has 99 values but shape [1, 1, 10, 10] needs 100',
      );
      await expect(c.predict(new Float32Array(2 * 144), [2, 1, 12, 12])).rejects.toThrow(
        'input shape [2, 1, 12, 12] (NCHW) does not match model input "input" [batch, 1, 10, 10] (NCHW)',
      );
      await expect(c.predict(new Float32Array(100), [1, 100])).rejects.toThrow(
        'shape must be 4 non-negative integers',
      );
      // From JavaScript: an options object (or nothing) where the shape belongs.
      for (const shape of [{ layout: 'NCHW' }, undefined, '1,1,10,10']) {
        await expect(
          c.predict(new Float32Array(100), shape as unknown as number[]),
          String(shape),
        ).rejects.toThrow(/^shape must be 4 non-negative integers \[N, …\], got /);
      }
    } finally {
      await c.dispose();
    }
  });
});

describe('OnnxClassifier on other producers’ files', () => {
  it('reads the input/output names and shapes of a PyTorch-style export and applies softmax to its logits', async () => {
    const { bytes, weight, bias } = foreignModel();
    const c = await OnnxClassifier.load(bytes, { executionProviders: ['cpu'] });
    try {
      expect(c.info).toMatchObject({
        inputName: 'input',
        inputShape: ['batch', 1, 8, 8],
        inputLayout: 'NCHW',
        outputName: 'output',
        classes: 3,
        classNames: ['0', '1', '2'],
        output: 'unknown',
        normalization: null,
        preset: null,
        producer: 'pytorch 2.1.0',
        opset: 13,
      });
      // No metadata: pixels / 255, in the layout the input shape shows.
      expect(c).toMatchObject({ classes: 3, inputSize: [8, 8, 1], layout: 'NCHW', normalization: 'unit' });
      const x = uniform(5 * 64, rng(8));
      const p = await c.predict(x, [5, 1, 8, 8]);
      for (let i = 0; i < 5; i++) {
        const logits = [0, 1, 2].map(
          (k) => bias[k] + x.subarray(i * 64, i * 64 + 64).reduce((s, v, j) => s + v * weight[k * 64 + j], 0),
        );
        const m = Math.max(...logits);
        const e = logits.map((l) => Math.exp(l - m));
        const sum = e.reduce((a, b) => a + b, 0);
        expect(
          maxAbsDiff(
            p.probabilities.subarray(i * 3, i * 3 + 3),
            e.map((v) => v / sum),
          ),
        ).toBeLessThan(1e-5);
      }
    } finally {
      await c.dispose();
    }
  });

  it('runs a model with a fixed batch of 1 one sample at a time', async () => {
    const c = await OnnxClassifier.load(foreignModel(1).bytes, { executionProviders: ['cpu'] });
    try {
      expect(c.info.fixedBatch).toBe(1);
      const x = uniform(3 * 64, rng(2));
      const all = await c.predict(x, [3, 1, 8, 8]);
      const second = await c.predict(x.slice(64, 128), [1, 1, 8, 8]);
      expect(all.count).toBe(3);
      expect(maxAbsDiff(all.probabilities.subarray(3, 6), second.probabilities)).toBe(0);
    } finally {
      await c.dispose();
    }
  });
});

describe('OnnxClassifier input views', () => {
  it('reads each batch of a larger buffer in place, and pads a short batch of a fixed-batch model', async () => {
    const x = uniform(7 * 64, rng(5));
    // An image array that starts 64 floats into its buffer: ort must honour the view's offset.
    const backing = new Float32Array(8 * 64);
    backing.set(x, 64);
    const offsetView = backing.subarray(64);
    const dynamic = await OnnxClassifier.load(foreignModel().bytes, { executionProviders: ['cpu'] });
    const fixed = await OnnxClassifier.load(foreignModel(2).bytes, { executionProviders: ['cpu'] });
    try {
      const alone: Float32Array[] = [];
      for (let i = 0; i < 7; i++) {
        alone.push((await dynamic.predict(x.slice(i * 64, i * 64 + 64), [1, 1, 8, 8])).probabilities);
      }
      const runs = [
        await dynamic.predict(offsetView, [7, 1, 8, 8], { batchSize: 3 }),
        await fixed.predict(offsetView, [7, 1, 8, 8]),
      ];
      for (const p of runs) {
        for (let i = 0; i < 7; i++) {
          expect(maxAbsDiff(p.probabilities.subarray(i * 3, i * 3 + 3), alone[i])).toBeLessThan(1e-6);
        }
      }
      expect(Array.from(backing.subarray(64))).toEqual(Array.from(x));
    } finally {
      await dynamic.dispose();
      await fixed.dispose();
    }
  });
});

describe('OnnxClassifier bad input', () => {
  it('a missing file', async () => {
    await expect(OnnxClassifier.load(join(dir, 'nope.onnx'))).rejects.toMatchObject({
      code: 'FILE_NOT_FOUND',
      message: `ONNX model file not found: ${join(dir, 'nope.onnx')}`,
    });
  });

  it('a corrupt file (random bytes) and a truncated one', async () => {
    const junk = join(dir, 'junk.onnx');
    await writeFile(junk, Buffer.from(uniform(512, rng(4)).buffer));
    await expect(OnnxClassifier.load(junk)).rejects.toMatchObject({ code: 'INVALID_MODEL_FILE' });
    await expect(OnnxClassifier.load(junk)).rejects.toThrow(`ONNX file "${junk}" is not a valid ONNX model`);
    const { bytes } = foreignModel();
    await expect(OnnxClassifier.load(bytes.subarray(0, bytes.length - 9))).rejects.toThrow(
      /ONNX model bytes is not a valid ONNX model/,
    );
    await expect(OnnxClassifier.load(new Uint8Array())).rejects.toThrow(
      'ONNX model bytes is empty; expected an ONNX ModelProto',
    );
  });

  it('a model whose input is not an image tensor', async () => {
    await expect(OnnxClassifier.load(vectorModel())).rejects.toMatchObject({
      code: 'NOT_AN_IMAGE_MODEL',
      message:
        'ONNX model bytes: input "features" has shape [batch, 10]; expected an image tensor of rank 4 ([N, C, H, W] or [N, H, W, C])',
    });
  });

  it('no execution provider that works', async () => {
    await expect(OnnxClassifier.load(path, { executionProviders: ['tensorrt'] })).rejects.toMatchObject({
      code: 'SESSION_FAILED',
    });
  });
});

describe('OnnxClassifier hostile input (classes 1, 2, 3, 7)', () => {
  /** foreignModel() with its graph changed by `edit`. */
  const edited = (edit: (m: ReturnType<typeof decodeModel>) => void): Uint8Array => {
    const m = decodeModel(foreignModel().bytes);
    edit(m);
    return encodeModel(m);
  };

  it.runIf(process.platform !== 'win32')(
    'refuses a FIFO at once instead of waiting for a writer',
    async () => {
      const pipe = join(dir, 'pipe.onnx');
      execFileSync('mkfifo', [pipe]);
      const writer = spawn('sh', ['-c', `sleep 2; exec 3>"${pipe}"`], { stdio: 'ignore' });
      try {
        const started = Date.now();
        await expect(OnnxClassifier.load(pipe)).rejects.toMatchObject({
          code: 'INVALID_MODEL_FILE',
          message: `cannot read ONNX model file ${pipe}: is a FIFO (named pipe), not a regular file: only regular files are read as data`,
        });
        expect(Date.now() - started).toBeLessThan(1500);
      } finally {
        writer.kill();
      }
    },
  );

  it('refuses a declared input too large for one run, naming maxInputBytes', async () => {
    await expect(
      OnnxClassifier.load(foreignModel(1_000_000_000).bytes, { executionProviders: ['cpu'] }),
    ).rejects.toMatchObject({
      code: 'NOT_AN_IMAGE_MODEL',
      message:
        'ONNX model bytes: input "input" is declared [1000000000, 1, 8, 8], 256000000000 bytes of float32 per run, more than the 536870912-byte limit (raise it with the maxInputBytes option)',
    });
    const c = await OnnxClassifier.load(foreignModel().bytes, {
      executionProviders: ['cpu'],
      maxInputBytes: 256 * 3,
    });
    try {
      // 3 images per run at most: 10 images still come back, in runs of 3.
      const p = await c.predict(uniform(10 * 64, rng(1)), [10, 1, 8, 8]);
      expect(p.count).toBe(10);
    } finally {
      await c.dispose();
    }
    await expect(OnnxClassifier.load(foreignModel().bytes, { maxInputBytes: 0 })).rejects.toMatchObject({
      code: 'INVALID_OPTION',
      message: 'maxInputBytes must be a positive integer, got 0',
    });
  });

  it('refuses NaN input and NaN weights instead of labelling them 0', async () => {
    const c = await OnnxClassifier.load(foreignModel().bytes, { executionProviders: ['cpu'] });
    try {
      const x = uniform(64, rng(2));
      x[10] = Number.NaN;
      await expect(c.predict(x, [1, 1, 8, 8])).rejects.toMatchObject({
        code: 'INVALID_INPUT',
        message: 'input value 10 is NaN: images must hold finite numbers',
      });
    } finally {
      await c.dispose();
    }
    const nanWeights = edited((m) => {
      const w = m.graph!.initializer![0];
      w.raw_data = new Uint8Array(new Float32Array(3 * 64).fill(Number.NaN).buffer);
    });
    const broken = await OnnxClassifier.load(nanWeights, { executionProviders: ['cpu'] });
    try {
      await expect(broken.predict(uniform(64, rng(3)), [1, 1, 8, 8])).rejects.toMatchObject({
        code: 'INVALID_MODEL_FILE',
        message: `model output "output" is NaN for image 0, class 0: the model's weights hold non-finite values`,
      });
    } finally {
      await broken.dispose();
    }
  });

  it('refuses a non-finite normalisation in the metadata', async () => {
    const bytes = edited((m) => {
      m.metadata_props = [{ key: 'lenet.normalization', value: '{"mean":[1e999],"std":[1]}' }];
    });
    await expect(OnnxClassifier.load(bytes, { executionProviders: ['cpu'] })).rejects.toMatchObject({
      code: 'INVALID_MODEL_FILE',
      message:
        'ONNX model bytes: metadata lenet.normalization: normalize.mean[0] is Infinity, not a finite number',
    });
  });

  it('names both shapes when onnxruntime refuses a batch', async () => {
    const dynamic = edited((m) => {
      m.graph!.input = [tensorValueInfo('input', ['batch', 1, 'height', 'width'])];
    });
    const c = await OnnxClassifier.load(dynamic, { executionProviders: ['cpu'] });
    try {
      await expect(c.predict(new Float32Array(100), [1, 1, 10, 10])).rejects.toMatchObject({
        code: 'INVALID_INPUT',
        message: expect.stringMatching(
          /^onnxruntime refused a batch of shape \[1, 1, 10, 10\] \(NCHW\) for input "input", which the model declares as \[batch, 1, height, width\]: /,
        ),
      });
    } finally {
      await c.dispose();
    }
  });
});
