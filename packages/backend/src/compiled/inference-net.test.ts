import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { BackendError } from '../errors.js';
import { randomArray, relativeError } from '../testing/helpers.js';
import { INPUT, network, perturb } from '../testing/net.js';
import * as tf from '../tfjs.js';
import { useBackend } from '../use-backend.js';
import { setWinogradEnabled } from '../wasm-kernels/conv-winograd.js';
import { SimdKernels, setSimdKernelsEnabled } from '../wasm-kernels/simd.js';
import { type CompiledInferenceNet, compileInferenceNet } from './inference-net.js';
import type { NetSpec } from './net-spec.js';
import { inferencePackingEnabled, setInferencePackingEnabled } from './packed-weights.js';
import { compileTrainingNet } from './training-net.js';

beforeAll(async () => {
  await useBackend('wasm');
});

afterEach(() => {
  setSimdKernelsEnabled(true);
});

function compile(spec: NetSpec): CompiledInferenceNet {
  const net = compileInferenceNet(spec);
  if (net === undefined) throw new Error('no compiled inference net on wasm');
  return net;
}

/** `model.predict` on `n` samples of `x`, read back. */
function predicted(model: tf.LayersModel, x: Float32Array, n: number, logits = false): Float32Array {
  return tf
    .tidy(() => {
      const y = model.predict(tf.tensor4d(x, [n, 13, 13, 2])) as tf.Tensor;
      return logits ? tf.softmax(y) : y;
    })
    .dataSync() as Float32Array;
}

describe('compileInferenceNet', () => {
  it("gives model.predict's probabilities bit for bit, for batches larger and smaller than its buffers", () => {
    const { model, spec } = network(1);
    perturb(model);
    const net = compile(spec);
    expect(net.outputs).toBe(3);
    for (const [i, n] of [6, 4, 1, 9, 6].entries()) {
      const x = randomArray(n * INPUT, 10 + i);
      const out = new Float32Array(n * 3);
      expect(net.probabilities(x, n, out)).toBe(out);
      expect(out, `batch of ${n}`).toEqual(predicted(model, x, n));
    }
    net.dispose();
    model.dispose();
  });

  it('runs a batch over its buffer budget in parts, with the same probabilities', () => {
    const { model, spec } = network(5);
    perturb(model);
    const whole = compile(spec);
    // About 17 KB per sample here: a 40 KB budget runs a couple at a time.
    const parts = compileInferenceNet(spec, { maxBufferBytes: 40_000 }) as CompiledInferenceNet;
    const x = randomArray(9 * INPUT, 21);
    const expected = predicted(model, x, 9);
    const held = (net: CompiledInferenceNet) => {
      const before = tf.memory().numBytes;
      expect(net.probabilities(x, 9)).toEqual(expected);
      return tf.memory().numBytes - before;
    };
    const [wholeBytes, partBytes] = [held(whole), held(parts)];
    expect(partBytes).toBeLessThanOrEqual(40_000);
    expect(wholeBytes).toBeGreaterThan(4 * partBytes);
    expect(() => compileInferenceNet(spec, { maxBufferBytes: 0 })).toThrow(
      /maxBufferBytes must be positive, got 0/,
    );
    whole.dispose();
    parts.dispose();
    model.dispose();
  });

  it('sees the weights change between calls: a compiled training step, an assign', () => {
    const { model, spec } = network(2);
    perturb(model);
    const net = compile(spec);
    const trainer = compileTrainingNet(spec) as NonNullable<ReturnType<typeof compileTrainingNet>>;
    const x = randomArray(5 * INPUT, 3);
    const before = net.probabilities(x, 5);
    // One compiled training step: new conv and dense data, batch-norm statistics changed in place.
    trainer.forward(randomArray(8 * INPUT, 4), 8, [7]);
    trainer.softmax();
    trainer.outputGradient().set(randomArray(8 * 3, 5));
    trainer.backward();
    trainer.applyUpdate([], ({ grads, weights, next }) => {
      weights.forEach((w, k) => {
        for (let j = 0; j < w.length; j++) next[k][j] = w[j] - 0.1 * grads[k][j];
      });
    });
    const afterStep = net.probabilities(x, 5);
    expect(afterStep).not.toEqual(before);
    expect(afterStep).toEqual(predicted(model, x, 5));
    perturb(model);
    const afterAssign = net.probabilities(x, 5);
    expect(afterAssign).not.toEqual(afterStep);
    expect(afterAssign).toEqual(predicted(model, x, 5));
    trainer.dispose();
    net.dispose();
    model.dispose();
  });

  it("matches a model ending in logits with XNNPACK's fused relu convolution (over 16 channels)", () => {
    const init = (k: number) => tf.initializers.glorotUniform({ seed: k });
    const model = tf.sequential({
      layers: [
        tf.layers.conv2d({
          inputShape: [13, 13, 2],
          filters: 24,
          kernelSize: 3,
          activation: 'relu',
          kernelInitializer: init(1),
        }),
        tf.layers.conv2d({
          filters: 6,
          kernelSize: 3,
          strides: 2,
          activation: 'relu',
          kernelInitializer: init(2),
        }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 4, kernelInitializer: init(3) }),
      ],
    });
    perturb(model);
    const v = model.weights.map((w) => w.read() as tf.Variable);
    const spec: NetSpec = {
      input: [13, 13, 2],
      layers: [
        { type: 'conv2d', kernel: v[0], bias: v[1], strides: [1, 1], padding: 'valid', activation: 'relu' },
        { type: 'conv2d', kernel: v[2], bias: v[3], strides: [2, 2], padding: 'valid', activation: 'relu' },
        { type: 'flatten' },
        { type: 'dense', kernel: v[4], bias: v[5], activation: 'linear' },
      ],
    };
    const net = compile(spec);
    const x = randomArray(7 * INPUT, 8);
    expect(net.probabilities(x, 7)).toEqual(predicted(model, x, 7, true));
    net.dispose();
    model.dispose();
  });

  it('keeps the Winograd filter transform and the packed dense weights per weight version until a release', () => {
    const init = (k: number) => tf.initializers.glorotUniform({ seed: k });
    const model = tf.sequential({
      layers: [
        tf.layers.conv2d({
          inputShape: [8, 8, 32],
          filters: 64,
          kernelSize: 3,
          padding: 'same',
          activation: 'relu',
          kernelInitializer: init(1),
        }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 21, activation: 'relu', kernelInitializer: init(2) }),
        tf.layers.dense({ units: 5, activation: 'softmax', kernelInitializer: init(3) }),
      ],
    });
    perturb(model);
    const v = model.weights.map((w) => w.read() as tf.Variable);
    const spec: NetSpec = {
      input: [8, 8, 32],
      layers: [
        { type: 'conv2d', kernel: v[0], bias: v[1], strides: [1, 1], padding: 'same', activation: 'relu' },
        { type: 'flatten' },
        { type: 'dense', kernel: v[2], bias: v[3], activation: 'relu' },
        { type: 'dense', kernel: v[4], bias: v[5], activation: 'softmax' },
      ],
    };
    const n = 3;
    const x = randomArray(n * 8 * 8 * 32, 21);
    const predict = () =>
      tf.tidy(() => (model.predict(tf.tensor4d(x, [n, 8, 8, 32])) as tf.Tensor).dataSync() as Float32Array);
    const frees = vi.spyOn(SimdKernels.prototype, 'free');
    // On whatever LENET_INFER_PACKING says (it is read when a net is compiled).
    const packing = inferencePackingEnabled();
    setInferencePackingEnabled(true);
    const net = compile(spec);
    setInferencePackingEnabled(packing);
    const first = net.probabilities(x, n);
    expect(first).toEqual(predict());
    // Written in place, the weights keep their data ids: the net keeps what it transformed (the
    // conv kernel, the dense kernel and its fused bias; the conv's bias is added apart, read at
    // each call) from call to call — as model.predict's XNNPACK keeps its packed copy.
    const heap = (t: tf.Variable) => (tf.backend() as BackendWasm).typedArrayFromHeap(t) as Float32Array;
    const kept = [v[0], v[2], v[3]];
    const saved = kept.map((t) => heap(t).slice());
    for (const t of kept) heap(t).fill(0.5);
    expect(net.probabilities(x, n)).toEqual(first);
    // A release frees them with the buffers (the filter transform and the two dense layers'
    // panels), so a net that is released but never disposed holds nothing: the next call
    // transforms again and so sees the in-place write.
    const freesBefore = frees.mock.calls.length;
    net.release();
    expect(frees.mock.calls.length - freesBefore).toBe(3);
    expect(net.probabilities(x, n)).not.toEqual(first);
    kept.forEach((t, i) => {
      heap(t).set(saved[i]);
    });
    net.release();
    expect(net.probabilities(x, n)).toEqual(first);
    // New data (an assign) is transformed again; so is the filter for another Winograd tile.
    perturb(model);
    const assigned = net.probabilities(x, n);
    expect(assigned).not.toEqual(first);
    expect(assigned).toEqual(predict());
    for (const tile of [2, 4] as const) {
      setWinogradEnabled(true, tile);
      expect(relativeError(net.probabilities(x, n), assigned), `tile ${tile}`).toBeLessThan(1e-5);
    }
    setWinogradEnabled(true);
    const before = frees.mock.calls.length;
    net.dispose();
    // The filter transform and the two dense layers' panels.
    expect(frees.mock.calls.length - before).toBe(3);
    frees.mockRestore();
    model.dispose();
  });

  it('keeps its buffers across calls, grows them only for a larger batch, and frees them all (release, dispose)', () => {
    const { model, spec } = network(3);
    const backend = tf.backend() as unknown as {
      dataIdMap: { numDataIds(): number };
      wasm: { HEAPU8: Uint8Array };
    };
    const dataIds = backend.dataIdMap.numDataIds();
    const tensors = tf.memory().numTensors;
    const net = compile(spec);
    const run = (n: number, i: number) => net.probabilities(randomArray(n * INPUT, i), n);
    for (let i = 0; i < 4; i++) run(i % 2 ? 64 : 7, i);
    const heap = backend.wasm.HEAPU8.byteLength;
    const inUse = backend.dataIdMap.numDataIds();
    for (let i = 4; i < 40; i++) run(i % 3 ? 64 : 7, i);
    expect(backend.dataIdMap.numDataIds()).toBe(inUse);
    expect(backend.wasm.HEAPU8.byteLength).toBe(heap);
    const x = randomArray(5 * INPUT, 99);
    const before = net.probabilities(x, 5);
    net.release();
    expect(backend.dataIdMap.numDataIds()).toBe(dataIds);
    expect(tf.memory().numTensors).toBe(tensors);
    // Laid out again at the next call, with the same result.
    expect(net.probabilities(x, 5)).toEqual(before);
    net.dispose();
    expect(backend.dataIdMap.numDataIds()).toBe(dataIds);
    expect(tf.memory().numTensors).toBe(tensors);
    model.dispose();
  });

  it('refuses misuse, and is not available without the SIMD kernels or on another backend', async () => {
    const { model, spec } = network(4);
    const net = compile(spec);
    expect(() => net.probabilities(randomArray(INPUT, 1), 2)).toThrow(
      /compiled inference net: 338 input floats for a batch of 2 samples of 338/,
    );
    expect(() => net.probabilities(randomArray(2 * INPUT, 1), 2, new Float32Array(5))).toThrow(
      /room for 5 probabilities, 6 needed/,
    );
    expect(() => compileInferenceNet({ ...spec, layers: [{ type: 'flatten' }, spec.layers[0]] })).toThrow(
      /layer 1: conv2d needs an \[h, w, c\] input, got \[338\]/,
    );
    setSimdKernelsEnabled(false);
    expect(compileInferenceNet(spec)).toBeUndefined();
    setSimdKernelsEnabled(true);
    await useBackend('cpu');
    expect(compileInferenceNet(spec)).toBeUndefined();
    expect(net.usable()).toBe(false);
    expect(() => net.probabilities(randomArray(INPUT, 1), 1)).toThrow(
      /not the wasm backend it was compiled for/,
    );
    await useBackend('wasm');
    net.dispose();
    expect(net.usable()).toBe(false);
    expect(() => net.probabilities(randomArray(INPUT, 1), 1)).toThrow(BackendError);
    model.dispose();
  });
});
