import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadOnnxRuntime, type OnnxRuntime } from './runtime.js';
import * as tf from './tfjs.js';

// A package that is not installed anywhere: importing it fails the way a missing onnxruntime-node does.
const ABSENT = 'onnxruntime-node-is-not-installed';
const importAbsent = () => import(/* @vite-ignore */ ABSENT) as Promise<OnnxRuntime>;

function tinyModel(): tf.LayersModel {
  return tf.sequential({
    name: 'tiny',
    layers: [
      tf.layers.conv2d({ inputShape: [6, 6, 1], filters: 2, kernelSize: 3, activation: 'relu' }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 3, activation: 'softmax' }),
    ],
  });
}

describe('onnxruntime-node is an optional peer', () => {
  afterEach(() => {
    vi.doUnmock('onnxruntime-node');
    vi.resetModules();
  });

  it('names the package to install when the runtime cannot be imported', async () => {
    const err = await loadOnnxRuntime(importAbsent).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'OnnxError', code: 'RUNTIME_MISSING' });
    expect((err as Error).message).toMatch(
      /^running an ONNX model needs onnxruntime-node, an optional peer dependency of @lenet\/onnx that could not be loaded \(.*onnxruntime-node-is-not-installed.*\); install it with: npm install onnxruntime-node$/,
    );
    expect((err as Error).cause).toBeInstanceOf(Error);
  });

  it('exports without the runtime, and OnnxClassifier.load says what to install', async () => {
    // Only the import of onnxruntime-node is replaced (by the import of a missing package); a
    // static import of it anywhere in the package would now fail the import of the package itself.
    vi.doMock('onnxruntime-node', importAbsent);
    vi.resetModules();
    const onnx = await import('./index.js');
    const model = tinyModel();
    let bytes: Uint8Array;
    try {
      bytes = onnx.toOnnxBytes(model);
    } finally {
      model.dispose();
    }
    expect(onnx.checkOnnxModel(bytes)).toMatchObject({ valid: true, errors: [] });
    await expect(onnx.OnnxClassifier.load(bytes)).rejects.toMatchObject({
      code: 'RUNTIME_MISSING',
      message: expect.stringContaining('install it with: npm install onnxruntime-node'),
    });
  });
});
