import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BackendError } from '../errors.js';
import { randomArray, relativeError, seededVariable } from '../testing/helpers.js';
import { INPUT, network, perturb } from '../testing/net.js';
import * as tf from '../tfjs.js';
import { useBackend } from '../use-backend.js';
import { setWinogradTrainPadFreeEnabled } from '../wasm-kernels/conv-winograd.js';
import {
  setDenseInputGradientPanelsEnabled,
  setDenseSparseInputEnabled,
  sparseInputCalls,
} from '../wasm-kernels/matmul.js';
import { setPoolArgmaxMinFloats } from '../wasm-kernels/pool-util.js';
import { setSimdKernelsEnabled } from '../wasm-kernels/simd.js';
import {
  setBatchNormGradFusedEnabled,
  setBatchNormPoolGradFusedEnabled,
  setBatchNormVarianceFusedEnabled,
  setTrainBatchNormPoolFusionEnabled,
} from './batch-norm-stage.js';
import { compileInferenceNet } from './inference-net.js';
import { type NetLayer, type NetSpec, netTrainableVariables } from './net-spec.js';
import { compileTrainingNet } from './training-net.js';

beforeAll(async () => {
  await useBackend('wasm');
});

afterEach(() => {
  setSimdKernelsEnabled(true);
});

describe('compileTrainingNet', () => {
  it('computes the gradients of the tape, bit for bit, with the same dropout mask and batch-norm statistics', () => {
    const { model, spec } = network(1);
    perturb(model);
    const n = 6;
    const x = randomArray(n * INPUT, 2);
    const r = randomArray(n * 3, 3);
    const trainable = netTrainableVariables(spec);
    expect(trainable).toEqual(model.trainableWeights.map((w) => w.read()));
    const stats = model.nonTrainableWeights.map((w) => tf.clone(w.read()));
    const xt = tf.tensor4d(x, [n, 13, 13, 2]);
    const rt = tf.tensor2d(r, [n, 3]);
    // The tape: d(Σ output·r) for every trainable variable, the dropout layer seeded with 11.
    const { grads } = tf.variableGrads(
      () => tf.sum(tf.mul(model.apply(xt, { training: true }) as tf.Tensor, rt)) as tf.Scalar,
      trainable,
    );
    const expected = trainable.map((v) => grads[v.name].dataSync());
    const statsAfter = model.nonTrainableWeights.map((w) => Float32Array.from(w.read().dataSync()));
    const outputExpected = tf.tidy(() => (model.apply(xt, { training: true }) as tf.Tensor).dataSync());
    model.nonTrainableWeights.forEach((w, i) => {
      (w.read() as tf.Variable).assign(stats[i]);
    });

    const net = compileTrainingNet(spec);
    if (net === undefined) throw new Error('no compiled net on wasm');
    expect(net.outputs).toBe(3);
    net.forward(x, n, [11]);
    // Not bit for bit: this second pass runs outside gradient recording, where tfjs-layers fuses
    // the relu dense layer's bias into its product (4 of its 42 outputs differ from the training
    // step's unfused product and add here), so the softmax agrees to rounding.
    expect(relativeError(net.softmax(), outputExpected)).toBeLessThan(1e-6);
    // The last layer's softmax is the loss's: the gradient at the logits is tfjs's softmax gradient of r.
    const logits = tf.tensor2d(Float32Array.from(net.output()), [n, 3]);
    const dLogits = tf.grad((z: tf.Tensor) => tf.sum(tf.mul(tf.softmax(z), rt)))(logits);
    net.outputGradient().set(dLogits.dataSync());
    net.backward();
    const got = net.gradients();
    expect(trainable[1].name).toMatch(/^conv2d_Conv2D\d+\/bias$/);
    got.forEach((g, k) => {
      if (k === 1) {
        // The first conv's bias feeds a batch norm, which removes any constant: its true gradient
        // is 0, and both sides hold rounding residue (~1e-8, so relative to relativeError's 1e-3
        // floor it reads ~1e-5 when the relaxed-SIMD build's fused multiply-adds round the
        // compiled forward pass differently from the tape's kernels). Both must stay at that level.
        expect(Math.max(...g.map(Math.abs)), trainable[k].name).toBeLessThan(1e-6);
        expect(Math.max(...expected[k].map(Math.abs)), trainable[k].name).toBeLessThan(1e-6);
        return;
      }
      // Average pooling other than 2×2/2 is a loop here and XNNPACK's in tfjs: not bit for bit.
      expect(relativeError(g, expected[k]), trainable[k].name).toBeLessThan(1e-5);
    });
    expect(model.nonTrainableWeights.map((w) => Float32Array.from(w.read().dataSync()))).toEqual(statsAfter);
    net.dispose();
    tf.dispose([...stats, ...Object.values(grads), xt, rt, logits, dLogits]);
    model.dispose();
  });

  it('gives the same gradients, bit for bit, with the dense input gradient on Wᵀ in panels as on a transposed copy', () => {
    const { model, spec } = network(1);
    perturb(model);
    const n = 6;
    const x = randomArray(n * INPUT, 4);
    const dOut = randomArray(n * 3, 5);
    const run = (panels: boolean) => {
      setDenseInputGradientPanelsEnabled(panels);
      const net = compileTrainingNet(spec);
      if (net === undefined) throw new Error('no compiled net on wasm');
      net.forward(x, n, [11]);
      net.outputGradient().set(dOut);
      net.backward();
      const got = net.gradients().map((g) => Float32Array.from(g));
      net.dispose();
      return got;
    };
    try {
      const plain = run(false);
      const panels = run(true);
      expect(panels.length).toBe(plain.length);
      panels.forEach((g, k) => {
        expect(g, `gradient ${k}`).toEqual(plain[k]);
      });
    } finally {
      setDenseInputGradientPanelsEnabled(true);
      model.dispose();
    }
  });

  it('gives the same output and gradients, bit for bit, with its Winograd conv reading the input unpadded as from a padded copy', () => {
    const v = (shape: number[], seed: number) => seededVariable(shape, seed, 0.2);
    // 'same' padding on 10×10 (odd tiles past the output) from 16 channels: the Winograd
    // forward and filter gradient.
    const vars = [v([3, 3, 16, 32], 1), v([32], 2), v([10 * 10 * 32, 5], 3), v([5], 4)];
    const spec: NetSpec = {
      input: [10, 10, 16],
      layers: [
        {
          type: 'conv2d',
          kernel: vars[0],
          bias: vars[1],
          strides: [1, 1],
          padding: 'same',
          activation: 'relu',
        },
        { type: 'flatten' },
        { type: 'dense', kernel: vars[2], bias: vars[3], activation: 'softmax' },
      ],
    };
    const n = 3;
    const x = randomArray(n * 10 * 10 * 16, 5);
    const dOut = randomArray(n * 5, 6);
    const run = (on: boolean) => {
      setWinogradTrainPadFreeEnabled(on);
      const net = compileTrainingNet(spec);
      if (net === undefined) throw new Error('no compiled net on wasm');
      const stage = (net as unknown as { stages: { padFree?: boolean; dwKernel?: string }[] }).stages[0];
      expect([stage.padFree, stage.dwKernel]).toEqual([on, 'winograd']);
      const out = [Float32Array.from(net.forward(x, n, []))];
      net.outputGradient().set(dOut);
      net.backward();
      out.push(...net.gradients().map((g) => Float32Array.from(g)));
      net.dispose();
      return out;
    };
    try {
      const copied = run(false);
      const free = run(true);
      free.forEach((a, k) => {
        expect(new Uint32Array(a.buffer), `array ${k}`).toEqual(new Uint32Array(copied[k].buffer));
      });
    } finally {
      setWinogradTrainPadFreeEnabled(true);
      tf.dispose(vars);
    }
  });

  it('gives the same outputs, gradients and moving statistics, bit for bit, with the batch-norm passes fused as through scratch', () => {
    const { model, spec } = network(1);
    perturb(model);
    const n = 6;
    const x = randomArray(n * INPUT, 6);
    const dOut = randomArray(n * 3, 7);
    const stats = model.nonTrainableWeights.map((w) => tf.clone(w.read()));
    const run = (fused: boolean) => {
      setBatchNormVarianceFusedEnabled(fused);
      setBatchNormGradFusedEnabled(fused);
      const net = compileTrainingNet(spec);
      if (net === undefined) throw new Error('no compiled net on wasm');
      net.forward(x, n, [11]);
      const output = Float32Array.from(net.output());
      net.outputGradient().set(dOut);
      net.backward();
      const got = [output, ...net.gradients().map((g) => Float32Array.from(g))];
      net.dispose();
      model.nonTrainableWeights.forEach((w, i) => {
        got.push(Float32Array.from(w.read().dataSync()));
        (w.read() as tf.Variable).assign(stats[i]);
      });
      return got;
    };
    try {
      const plain = run(false);
      const fused = run(true);
      expect(fused.length).toBe(plain.length);
      fused.forEach((g, k) => {
        expect(g, `array ${k}`).toEqual(plain[k]);
      });
    } finally {
      setBatchNormVarianceFusedEnabled(true);
      setBatchNormGradFusedEnabled(true);
      tf.dispose(stats);
      model.dispose();
    }
  });

  it.each([0, 0.3])(
    "fuses a batch norm with the max pooling after it (a dropout at rate %s and a relu between, or none): the tape's gradients, bit for bit the unfused stages, NaN windows included",
    (rate) => {
      const init = (k: number) => tf.initializers.glorotUniform({ seed: 20 + k });
      // 6 channels (a vector past the last full one), then 5 after the Keras-order batch norm.
      const layers = [
        tf.layers.conv2d({
          inputShape: [8, 8, 2],
          filters: 6,
          kernelSize: 3,
          padding: 'same',
          kernelInitializer: init(1),
        }),
        tf.layers.batchNormalization({ momentum: 0.8, epsilon: 1e-4 }),
        tf.layers.dropout({ rate, seed: 11 }),
        tf.layers.activation({ activation: 'relu' }),
        tf.layers.maxPooling2d({ poolSize: 2, strides: 2 }),
        tf.layers.conv2d({
          filters: 5,
          kernelSize: 3,
          padding: 'same',
          activation: 'relu',
          kernelInitializer: init(2),
        }),
        tf.layers.batchNormalization({ momentum: 0.8, epsilon: 1e-4 }),
        tf.layers.maxPooling2d({ poolSize: 2, strides: 2 }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: init(3) }),
      ];
      const model = tf.sequential({ layers });
      perturb(model);
      const vars = (l: tf.layers.Layer) => l.weights.map((w) => w.read() as tf.Variable);
      const bn = (l: tf.layers.Layer): NetLayer => {
        const [gamma, beta, movingMean, movingVariance] = vars(l);
        return { type: 'batchNorm', gamma, beta, movingMean, movingVariance, momentum: 0.8, epsilon: 1e-4 };
      };
      const conv = (l: tf.layers.Layer, activation: 'relu' | 'linear'): NetLayer => {
        const [kernel, bias] = vars(l);
        return { type: 'conv2d', kernel, bias, strides: [1, 1], padding: 'same', activation };
      };
      const pool: NetLayer = { type: 'pool', op: 'max', size: [2, 2], strides: [2, 2] };
      const [dk, db] = vars(layers[9]);
      const spec: NetSpec = {
        input: [8, 8, 2],
        layers: [
          conv(layers[0], 'linear'),
          bn(layers[1]),
          { type: 'dropout', rate },
          { type: 'activation', activation: 'relu' },
          pool,
          conv(layers[5], 'relu'),
          bn(layers[6]),
          pool,
          { type: 'flatten' },
          { type: 'dense', kernel: dk, bias: db, activation: 'softmax' },
        ],
      };
      const n = 5;
      const x = randomArray(n * 128, 8);
      const r = randomArray(n * 3, 9);
      const trainable = netTrainableVariables(spec);
      const stats = model.nonTrainableWeights.map((w) => tf.clone(w.read()));
      const restore = () => {
        model.nonTrainableWeights.forEach((w, i) => {
          (w.read() as tf.Variable).assign(stats[i]);
        });
      };
      const xt = tf.tensor4d(x, [n, 8, 8, 2]);
      const rt = tf.tensor2d(r, [n, 3]);
      const { grads } = tf.variableGrads(
        () => tf.sum(tf.mul(model.apply(xt, { training: true }) as tf.Tensor, rt)) as tf.Scalar,
        trainable,
      );
      const expected = trainable.map((v) => grads[v.name].dataSync());
      restore();
      const run = (fused: boolean, input = x) => {
        setTrainBatchNormPoolFusionEnabled(fused);
        const net = compileTrainingNet(spec);
        if (net === undefined) throw new Error('no compiled net on wasm');
        net.forward(input, n, [11]);
        const output = Float32Array.from(net.output());
        const logits = tf.tensor2d(output, [n, 3]);
        const dLogits = tf.grad((z: tf.Tensor) => tf.sum(tf.mul(tf.softmax(z), rt)))(logits);
        net.outputGradient().set(dLogits.dataSync());
        net.backward();
        const got = [output, ...net.gradients().map((g) => Float32Array.from(g))];
        net.dispose();
        tf.dispose([logits, dLogits]);
        for (const w of model.nonTrainableWeights) got.push(Float32Array.from(w.read().dataSync()));
        restore();
        return got;
      };
      // The NaN case: channel 0 of the first conv copies the input's channel 0, −1 but for one
      // pixel per image (+1, a window's second); with γ = +∞ and β = −∞ there its normalised values
      // are NaN at that pixel alone and −∞ elsewhere (the statistics stay finite). Relu keeps the
      // NaN, which the unfused pooling's NaN rule passes on (the fused kernel's pmax would not).
      const nanInput = Float32Array.from(x, (v, i) => (i % 2 === 1 ? v : (i >> 1) % 64 === 1 ? 1 : -1));
      const [kernel0, bias0] = vars(layers[0]);
      const kernelNan = Float32Array.from(kernel0.dataSync(), (v, i) =>
        i % 6 !== 0 ? v : i === (4 * 2 + 0) * 6 ? 1 : 0,
      );
      const [gamma, beta] = vars(layers[1]);
      const before = [tf.clone(gamma), tf.clone(beta), tf.clone(kernel0), tf.clone(bias0)];
      try {
        const [, ...gradients] = run(true);
        gradients.slice(0, trainable.length).forEach((g, k) => {
          expect(relativeError(g, expected[k]), trainable[k].name).toBeLessThan(1e-5);
        });
        for (const infinite of [false, true]) {
          if (infinite) {
            gamma.assign(tf.tensor1d([Number.POSITIVE_INFINITY, 1, 1, 1, 1, 1]));
            beta.assign(tf.tensor1d([Number.NEGATIVE_INFINITY, 0, 0, 0, 0, 0]));
            kernel0.assign(tf.tensor4d(kernelNan, [3, 3, 2, 6]));
            bias0.assign(tf.tensor1d(Float32Array.from(bias0.dataSync(), (v, i) => (i === 0 ? 0 : v))));
          }
          const input = infinite ? nanInput : x;
          const plain = run(false, input);
          for (const inPass of [false, true]) {
            setBatchNormPoolGradFusedEnabled(inPass);
            run(true, input).forEach((g, k) => {
              const what = `${infinite ? 'infinite γ, ' : ''}scatter ${inPass ? 'in the first pass' : 'alone'}`;
              expect(g, `array ${k} (${what})`).toEqual(plain[k]);
            });
          }
          if (infinite) expect(plain[0].some(Number.isNaN)).toBe(true);
        }
      } finally {
        setTrainBatchNormPoolFusionEnabled(true);
        setBatchNormPoolGradFusedEnabled(true);
        [gamma, beta, kernel0, bias0].forEach((v, i) => {
          v.assign(before[i]);
        });
        tf.dispose([...stats, ...Object.values(grads), xt, rt, ...before]);
        model.dispose();
      }
    },
  );

  it("gives the same gradients when its max pooling keeps each window's argmax (big inputs) as when it reads the input again", () => {
    // network(1)'s 2×2 pooling (20 channels), and one of 6 channels (a vector past the last
    // full one) over 7×9 (a row and a column no window covers) fed by relu (ties at 0).
    const { model, spec } = network(1);
    perturb(model);
    const v = seededVariable;
    const weights = [v([1, 1, 2, 6], 8), v([6], 9), v([72, 3], 10), v([3], 11)];
    const odd: NetSpec = {
      input: [7, 9, 2],
      layers: [
        {
          type: 'conv2d',
          kernel: weights[0],
          bias: weights[1],
          strides: [1, 1],
          padding: 'valid',
          activation: 'relu',
        },
        { type: 'pool', op: 'max', size: [2, 2], strides: [2, 2] },
        { type: 'flatten' },
        { type: 'dense', kernel: weights[2], bias: weights[3], activation: 'softmax' },
      ],
    };
    const n = 5;
    const run = (netSpec: NetSpec, inputFloats: number, minFloats: number) => {
      const previous = setPoolArgmaxMinFloats(minFloats);
      try {
        const net = compileTrainingNet(netSpec);
        if (net === undefined) throw new Error('no compiled net on wasm');
        net.forward(randomArray(n * inputFloats, 4), n, [11]);
        net.outputGradient().set(randomArray(n * 3, 5));
        net.backward();
        const grads = net.gradients().map((g) => Float32Array.from(g));
        net.dispose();
        return grads;
      } finally {
        setPoolArgmaxMinFloats(previous);
      }
    };
    for (const [netSpec, inputFloats] of [
      [spec, INPUT],
      [odd, 7 * 9 * 2],
    ] as const) {
      const kept = run(netSpec, inputFloats, 0);
      const read = run(netSpec, inputFloats, Number.POSITIVE_INFINITY);
      expect(kept.length).toBe(read.length);
      kept.forEach((g, k) => {
        expect(g, `gradient ${k}`).toEqual(read[k]);
      });
    }
    tf.dispose(weights);
    model.dispose();
  });

  it('pads and pools globally as the tape does: zero padding (gradient through it), global average pooling', () => {
    const init = (k: number) => tf.initializers.glorotUniform({ seed: k });
    const model = tf.sequential({
      layers: [
        tf.layers.zeroPadding2d({
          inputShape: [9, 8, 2],
          padding: [
            [1, 2],
            [0, 1],
          ],
        }),
        tf.layers.conv2d({ filters: 4, kernelSize: 3, activation: 'relu', kernelInitializer: init(1) }),
        tf.layers.zeroPadding2d({ padding: 1 }),
        tf.layers.conv2d({ filters: 18, kernelSize: 2, activation: 'relu', kernelInitializer: init(2) }),
        tf.layers.globalAveragePooling2d({}),
        tf.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: init(3) }),
      ],
    });
    perturb(model);
    const v = model.weights.map((w) => w.read() as tf.Variable);
    const spec: NetSpec = {
      input: [9, 8, 2],
      layers: [
        {
          type: 'zeroPad',
          padding: [
            [1, 2],
            [0, 1],
          ],
        },
        { type: 'conv2d', kernel: v[0], bias: v[1], strides: [1, 1], padding: 'valid', activation: 'relu' },
        {
          type: 'zeroPad',
          padding: [
            [1, 1],
            [1, 1],
          ],
        },
        { type: 'conv2d', kernel: v[2], bias: v[3], strides: [1, 1], padding: 'valid', activation: 'relu' },
        { type: 'globalAvgPool' },
        { type: 'dense', kernel: v[4], bias: v[5], activation: 'softmax' },
      ],
    };
    const n = 5;
    const x = randomArray(n * 9 * 8 * 2, 6);
    const xt = tf.tensor4d(x, [n, 9, 8, 2]);
    const rt = tf.tensor2d(randomArray(n * 3, 7), [n, 3]);
    // The tape's forward pass (unfused, as training runs it) and gradients.
    let taped = new Float32Array(0);
    const { grads } = tf.variableGrads(() => {
      const out = model.apply(xt, { training: true }) as tf.Tensor;
      taped = Float32Array.from(out.dataSync());
      return tf.sum(tf.mul(out, rt)) as tf.Scalar;
    }, v);
    const net = compileTrainingNet(spec) as NonNullable<ReturnType<typeof compileTrainingNet>>;
    net.forward(x, n, []);
    expect(Float32Array.from(net.softmax())).toEqual(taped);
    const logits = tf.tensor2d(Float32Array.from(net.output()), [n, 3]);
    const dLogits = tf.grad((z: tf.Tensor) => tf.sum(tf.mul(tf.softmax(z), rt)))(logits);
    net.outputGradient().set(dLogits.dataSync());
    net.backward();
    net.gradients().forEach((g, k) => {
      expect(Float32Array.from(g), v[k].name).toEqual(grads[v[k].name].dataSync());
    });
    // Inference: predict's fused kernels (XNNPACK's bias in the 18-channel convolution's sums).
    const infer = compileInferenceNet(spec) as NonNullable<ReturnType<typeof compileInferenceNet>>;
    expect(infer.probabilities(x, n)).toEqual(tf.tidy(() => (model.predict(xt) as tf.Tensor).dataSync()));
    expect(() =>
      compileTrainingNet({ ...spec, layers: [{ type: 'flatten' }, { type: 'globalAvgPool' }] }),
    ).toThrow(/layer 1: globalAvgPool needs an \[h, w, c\] input, got \[144\]/);
    expect(() =>
      compileTrainingNet({
        ...spec,
        layers: [
          {
            type: 'zeroPad',
            padding: [
              [1, -1],
              [0, 0],
            ],
          },
        ],
      }),
    ).toThrow(/layer 0: zeroPad padding must be non-negative integers, got \[\[1,-1\],\[0,0\]\]/);
    infer.dispose();
    net.dispose();
    tf.dispose([...Object.values(grads), xt, rt, logits, dLogits]);
    model.dispose();
  });

  it('gives conv and dense weights new data at each update, keeps the rest in place, and never changes a clone', () => {
    const { model, spec } = network(2);
    const net = compileTrainingNet(spec) as NonNullable<ReturnType<typeof compileTrainingNet>>;
    const trainable = netTrainableVariables(spec);
    const kept = tf.clone(trainable[0]);
    const keptValues = kept.dataSync().slice();
    const ids = () => trainable.map((v) => v.dataId);
    const before = ids();
    const slot = tf.tidy(() => tf.variable(tf.zeros([4])));
    const slotId = slot.dataId;
    net.forward(randomArray(4 * INPUT, 4), 4, [1]);
    net.backward();
    net.applyUpdate([slot], ({ grads, weights, next, slots }) => {
      expect(grads).toHaveLength(trainable.length);
      weights.forEach((w, i) => {
        for (let j = 0; j < w.length; j++) next[i][j] = w[j] + 1;
      });
      slots[0].fill(5);
    });
    const after = ids();
    // conv kernel, bias, batch-norm gamma, beta, conv kernel, bias, dense ×2 + bias, dense, dense + bias
    const packable = [true, true, false, false, true, true, true, true, true, true, true];
    after.forEach((id, i) => {
      expect(id !== before[i], trainable[i].name).toBe(packable[i]);
    });
    expect(kept.dataSync()).toEqual(keptValues);
    expect(trainable[0].dataSync()).toEqual(keptValues.map((v) => Math.fround(v + 1)));
    expect(slot.dataId).toBe(slotId);
    expect(Array.from(slot.dataSync())).toEqual([5, 5, 5, 5]);
    net.dispose();
    tf.dispose([kept, slot]);
    model.dispose();
  });

  it('lays its buffers out again when the batch size changes, and frees them all', () => {
    const { model, spec } = network(3);
    const backend = tf.backend() as unknown as {
      dataIdMap: { numDataIds(): number };
      wasm: { HEAPU8: Uint8Array };
    };
    const net = compileTrainingNet(spec) as NonNullable<ReturnType<typeof compileTrainingNet>>;
    const dataIds = backend.dataIdMap.numDataIds();
    const step = (n: number, i: number) => {
      net.forward(randomArray(n * INPUT, i), n, [i]);
      net.softmax();
      net.outputGradient().set(randomArray(n * 3, i + 1));
      net.backward();
      net.applyUpdate([], ({ weights, next }) => {
        for (const [k, w] of weights.entries()) next[k].set(w);
      });
    };
    for (let i = 0; i < 4; i++) step(i % 2 ? 64 : 7, i);
    const heap = backend.wasm.HEAPU8.byteLength;
    const inUse = backend.dataIdMap.numDataIds();
    for (let i = 4; i < 40; i++) step(i % 2 ? 64 : 7, i);
    expect(backend.dataIdMap.numDataIds()).toBe(inUse);
    expect(backend.wasm.HEAPU8.byteLength).toBe(heap);
    net.dispose();
    expect(backend.dataIdMap.numDataIds()).toBe(dataIds);
    model.dispose();
  });

  it('refuses a spec that does not fit its variables, naming the layer, and misuse', () => {
    const { model, spec } = network(4);
    const bad = (layers: NetLayer[]) => () => compileTrainingNet({ ...spec, layers });
    const conv = spec.layers[0] as Extract<NetLayer, { type: 'conv2d' }>;
    const dense = spec.layers[9] as Extract<NetLayer, { type: 'dense' }>;
    expect(bad([{ ...conv, bias: dense.bias }])).toThrow(
      /compiled net, layer 0: conv2d bias must be float32 \[5\], got float32 \[7\]/,
    );
    expect(bad([conv, { type: 'flatten' }, { ...dense, activation: 'softmax' }, dense])).toThrow(
      /layer 2: only the last layer may have a softmax/,
    );
    expect(bad([{ type: 'flatten' }, conv])).toThrow(
      /layer 1: conv2d needs an \[h, w, c\] input, got \[338\]/,
    );
    expect(bad([{ type: 'pool', op: 'max', size: [14, 14], strides: [1, 1] }])).toThrow(
      /layer 0: pool output is empty \(0x0\)/,
    );
    const net = compileTrainingNet(spec) as NonNullable<ReturnType<typeof compileTrainingNet>>;
    expect(() => net.backward()).toThrow(/forward\(\) has not run/);
    expect(() => net.forward(randomArray(2 * INPUT, 1), 2, [])).toThrow(
      /0 dropout seeds for 1 dropout layers/,
    );
    expect(() => net.forward(randomArray(INPUT, 1), 2, [1])).toThrow(
      /338 input floats for a batch of 2 samples/,
    );
    net.forward(randomArray(2 * INPUT, 1), 2, [1]);
    expect(() => net.gradients()).toThrow(/backward\(\) has not run/);
    net.dispose();
    expect(() => net.forward(randomArray(2 * INPUT, 1), 2, [1])).toThrow(BackendError);
    expect(net.usable()).toBe(false);
    model.dispose();
  });

  it('is not available without the SIMD kernels or on another backend', async () => {
    const { model, spec } = network(5);
    setSimdKernelsEnabled(false);
    expect(compileTrainingNet(spec)).toBeUndefined();
    setSimdKernelsEnabled(true);
    const net = compileTrainingNet(spec);
    expect(net?.usable()).toBe(true);
    await useBackend('cpu');
    expect(compileTrainingNet(spec)).toBeUndefined();
    expect(net?.usable()).toBe(false);
    await useBackend('wasm');
    net?.dispose();
    model.dispose();
  });
});

describe('compileTrainingNet on a mostly-zero input', () => {
  it("gives the tape's gradients with its first dense layer's products over the input's nonzero entries, bit for bit the dense products'", () => {
    const init = (k: number) => tf.initializers.glorotUniform({ seed: 30 + k });
    const layers = [
      tf.layers.flatten({ inputShape: [6, 6, 1] }),
      tf.layers.dense({
        units: 12,
        activation: 'relu',
        kernelInitializer: init(1),
        biasInitializer: 'glorotUniform',
      }),
      tf.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: init(2) }),
    ];
    const model = tf.sequential({ layers });
    const vars = (l: tf.layers.Layer) => l.weights.map((w) => w.read() as tf.Variable);
    const [k1, b1] = vars(layers[1]);
    const [k2, b2] = vars(layers[2]);
    const spec: NetSpec = {
      input: [6, 6, 1],
      layers: [
        { type: 'flatten' },
        { type: 'dense', kernel: k1, bias: b1, activation: 'relu' },
        { type: 'dense', kernel: k2, bias: b2, activation: 'softmax' },
      ],
    };
    const n = 7;
    // Pixels as MNIST's: an empty border, about a quarter of the rest lit.
    const x = randomArray(n * 36, 12).map((v, i) => {
      const [row, col] = [Math.floor((i % 36) / 6), i % 6];
      return row === 0 || col === 0 || v < 0.5 ? 0 : v;
    });
    const r = randomArray(n * 3, 13);
    const trainable = netTrainableVariables(spec);
    const xt = tf.tensor4d(x, [n, 6, 6, 1]);
    const rt = tf.tensor2d(r, [n, 3]);
    const { grads } = tf.variableGrads(
      () => tf.sum(tf.mul(model.apply(xt, { training: true }) as tf.Tensor, rt)) as tf.Scalar,
      trainable,
    );
    const expected = trainable.map((v) => grads[v.name].dataSync());
    const run = (sparse: boolean) => {
      setDenseSparseInputEnabled(sparse);
      const net = compileTrainingNet(spec);
      if (net === undefined) throw new Error('no compiled net on wasm');
      const calls = sparseInputCalls();
      net.forward(x, n, [11]);
      const logits = tf.tensor2d(Float32Array.from(net.output()), [n, 3]);
      const dLogits = tf.grad((z: tf.Tensor) => tf.sum(tf.mul(tf.softmax(z), rt)))(logits);
      net.outputGradient().set(dLogits.dataSync());
      net.backward();
      const got = net.gradients().map((g) => Float32Array.from(g));
      const sparseRuns = sparseInputCalls() - calls;
      net.dispose();
      tf.dispose([logits, dLogits]);
      return { got, sparseRuns };
    };
    try {
      const dense = run(false);
      const sparse = run(true);
      expect(dense.sparseRuns).toBe(0);
      // The first dense layer only: the second's 3 units are not whole vectors.
      expect(sparse.sparseRuns).toBe(1);
      sparse.got.forEach((g, k) => {
        expect(g, `gradient ${k}`).toEqual(dense.got[k]);
        expect(relativeError(g, expected[k]), trainable[k].name).toBeLessThan(1e-5);
      });
    } finally {
      setDenseSparseInputEnabled(true);
      tf.dispose([...Object.values(grads), xt, rt]);
      model.dispose();
    }
  });
});
