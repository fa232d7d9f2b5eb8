import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerWasmTrainingKernels } from '../register.js';
import { randomArray, relativeError } from '../testing/helpers.js';
import { perturb } from '../testing/net.js';
import * as tf from '../tfjs.js';
import { useBackend } from '../use-backend.js';
import { convGeometry, convInfo } from '../wasm-kernels/conv-util.js';
import { convForward, convPoolForward } from '../wasm-kernels/conv2d.js';
import { setWasmKernelThreads } from '../wasm-kernels/kernel-threads.js';
import { pool2x2, poolFastEnabled, setPoolFastEnabled } from '../wasm-kernels/pool-util.js';
import { roundUp4, simdKernels, tileFloats } from '../wasm-kernels/simd.js';
import { splitCalls } from '../wasm-kernels/split.js';
import { biasActivation } from './activation.js';
import { convPoolFusionEnabled, setConvPoolFusionEnabled } from './fold.js';
import { fusionPlan } from './fusion.js';
import { type CompiledInferenceNet, compileInferenceNet } from './inference-net.js';
import type { NetActivation, NetLayer, NetSpec } from './net-spec.js';
import type { Stage } from './stage.js';

beforeAll(async () => {
  await registerWasmTrainingKernels();
  await useBackend('wasm');
});

afterAll(async () => {
  await setWasmKernelThreads(1);
});

/** A conv2d, with a batch norm, relu or tanh layer and dropout after it when `bn`, then a 2×2/2 pooling. */
interface Block {
  filters: number;
  kernel: number;
  padding: 'same' | 'valid';
  act: NetActivation;
  bn?: boolean;
  /** A batch norm after the activation instead (Keras's order: it does not fold). */
  bnAfter?: boolean;
  useBias?: boolean;
}

/** A model of `blocks` (each pooled by `op`), flatten and a softmax dense layer, and its spec. */
function convPoolNet(
  input: [number, number, number],
  blocks: Block[],
  op: 'max' | 'avg',
): { model: tf.Sequential; spec: NetSpec } {
  const init = (k: number) => tf.initializers.glorotUniform({ seed: 50 + k });
  const layers: tf.layers.Layer[] = [];
  const spec: NetLayer[] = [];
  const vars = (l: tf.layers.Layer) => l.weights.map((w) => w.read() as tf.Variable);
  const pending: (() => void)[] = [];
  blocks.forEach((b, i) => {
    const useBias = b.useBias ?? true;
    const conv = tf.layers.conv2d({
      ...(i === 0 ? { inputShape: input } : {}),
      filters: b.filters,
      kernelSize: b.kernel,
      padding: b.padding,
      activation: b.bn ? 'linear' : b.act,
      useBias,
      kernelInitializer: init(i),
    });
    layers.push(conv);
    const at = spec.length;
    spec.push({ type: 'flatten' });
    pending.push(() => {
      const [kernel, bias] = vars(conv);
      spec[at] = {
        type: 'conv2d',
        kernel,
        ...(useBias ? { bias } : {}),
        strides: [1, 1],
        padding: b.padding,
        activation: b.bn ? 'linear' : b.act,
      };
    });
    if (b.bnAfter) {
      const bn = tf.layers.batchNormalization({ momentum: 0.9, epsilon: 1e-3 });
      layers.push(bn);
      const bnAt = spec.length;
      spec.push({ type: 'flatten' });
      pending.push(() => {
        const [gamma, beta, movingMean, movingVariance] = vars(bn);
        spec[bnAt] = {
          type: 'batchNorm',
          gamma,
          beta,
          movingMean,
          movingVariance,
          momentum: 0.9,
          epsilon: 1e-3,
        };
      });
    }
    if (b.bn) {
      const bn = tf.layers.batchNormalization({ momentum: 0.9, epsilon: 1e-3 });
      layers.push(bn, tf.layers.activation({ activation: b.act }), tf.layers.dropout({ rate: 0.25 }));
      const bnAt = spec.length;
      spec.push(
        { type: 'flatten' },
        { type: 'activation', activation: b.act },
        { type: 'dropout', rate: 0.25 },
      );
      pending.push(() => {
        const [gamma, beta, movingMean, movingVariance] = vars(bn);
        spec[bnAt] = {
          type: 'batchNorm',
          gamma,
          beta,
          movingMean,
          movingVariance,
          momentum: 0.9,
          epsilon: 1e-3,
        };
      });
    }
    layers.push(
      op === 'max'
        ? tf.layers.maxPooling2d({ poolSize: 2, strides: 2 })
        : tf.layers.averagePooling2d({ poolSize: 2, strides: 2 }),
    );
    spec.push({ type: 'pool', op, size: [2, 2], strides: [2, 2] });
  });
  const dense = tf.layers.dense({ units: 4, activation: 'softmax', kernelInitializer: init(9) });
  layers.push(tf.layers.flatten(), dense);
  const model = tf.sequential({ layers });
  for (const set of pending) set();
  const [kernel, bias] = vars(dense);
  spec.push({ type: 'flatten' }, { type: 'dense', kernel, bias, activation: 'softmax' });
  perturb(model);
  return { model, spec: { input, layers: spec } };
}

/** Compiles `spec` with graph fusion on and the conv + pool fusion on or off. */
function compile(spec: NetSpec, convPool: boolean): CompiledInferenceNet {
  const was = convPoolFusionEnabled();
  setConvPoolFusionEnabled(convPool);
  try {
    const net = compileInferenceNet(spec);
    if (net === undefined) throw new Error('no compiled inference net on wasm');
    return net;
  } finally {
    setConvPoolFusionEnabled(was);
  }
}

function stageNames(net: CompiledInferenceNet): string[] {
  return (net as unknown as { stages: Stage[] }).stages.map((st) => st.constructor.name);
}

function predicted(model: tf.LayersModel, x: Float32Array, shape: number[]): Float32Array {
  return tf.tidy(() => (model.predict(tf.tensor(x, shape)) as tf.Tensor).dataSync() as Float32Array);
}

const CASES: { name: string; input: [number, number, number]; blocks: Block[]; op: 'max' | 'avg' }[] = [
  {
    name: "lenet5's (relu, max, 'same' then 'valid')",
    input: [28, 28, 1],
    blocks: [
      { filters: 6, kernel: 5, padding: 'same', act: 'relu' },
      { filters: 16, kernel: 5, padding: 'valid', act: 'relu' },
    ],
    op: 'max',
  },
  {
    name: "lenet5-classic's (tanh, average)",
    input: [28, 28, 1],
    blocks: [
      { filters: 6, kernel: 5, padding: 'same', act: 'tanh' },
      { filters: 16, kernel: 5, padding: 'valid', act: 'tanh' },
    ],
    op: 'avg',
  },
  {
    name: "torch-2conv3fc's (batch norm folded, relu and dropout after, max)",
    input: [28, 28, 1],
    blocks: [
      { filters: 6, kernel: 5, padding: 'same', act: 'relu', bn: true },
      { filters: 12, kernel: 3, padding: 'valid', act: 'relu', bn: true },
    ],
    op: 'max',
  },
  {
    name: 'an odd conv output (11×11 → 5×5), 3 input and 16 output channels, no bias',
    input: [13, 13, 3],
    blocks: [{ filters: 16, kernel: 3, padding: 'valid', act: 'linear', useBias: false }],
    op: 'max',
  },
  {
    name: '3 output channels (the scalar maximum), tanh, odd padded output (9×9 → 4×4)',
    input: [9, 9, 2],
    blocks: [{ filters: 3, kernel: 4, padding: 'same', act: 'tanh' }],
    op: 'max',
  },
  {
    name: 'a narrow input (3 channels) to 20 output channels: the direct kernel, not the wide one',
    input: [10, 10, 3],
    blocks: [{ filters: 20, kernel: 3, padding: 'same', act: 'relu' }],
    op: 'max',
  },
  {
    name: "Winograd's epilogue (16 and 24 input channels, relu, F(4×4) on 8×8 then 4×4)",
    input: [8, 8, 16],
    blocks: [
      { filters: 24, kernel: 3, padding: 'same', act: 'relu' },
      { filters: 20, kernel: 3, padding: 'same', act: 'relu' },
    ],
    op: 'max',
  },
  {
    name: "Winograd's epilogue, odd outputs (7×7 → 3×3, then 3×3 → 1×1), average, no bias",
    input: [7, 7, 17],
    blocks: [
      { filters: 18, kernel: 3, padding: 'same', act: 'linear', useBias: false },
      { filters: 33, kernel: 3, padding: 'same', act: 'relu' },
    ],
    op: 'avg',
  },
  {
    name: "Winograd's epilogue with a batch norm folded (relu and dropout after, max)",
    input: [6, 6, 16],
    blocks: [{ filters: 32, kernel: 3, padding: 'same', act: 'relu', bn: true }],
    op: 'max',
  },
];

describe('compileInferenceNet conv2d + 2×2/2 pooling fusion', () => {
  // As the graph-fusion tests: the folded batch norm rounds otherwise than model.predict.
  const TOLERANCE = 1e-5;

  for (const c of CASES)
    it(`${c.name}: the unfused compiled pass's probabilities bit for bit, model.predict's within rounding`, () => {
      const { model, spec } = convPoolNet(c.input, c.blocks, c.op);
      const fused = compile(spec, true);
      const plain = compile(spec, false);
      const names = stageNames(fused);
      expect(names.filter((s) => s === 'ConvPoolStage')).toHaveLength(c.blocks.length);
      expect(names).not.toContain('PoolStage');
      expect(names).not.toContain('ConvStage');
      expect(stageNames(plain).filter((s) => s === 'PoolStage')).toHaveLength(c.blocks.length);
      expect(stageNames(plain)).not.toContain('ConvPoolStage');
      const per = c.input[0] * c.input[1] * c.input[2];
      for (const [i, n] of [1, 5].entries()) {
        const x = randomArray(n * per, 80 + i).map((v) => 3 * v);
        const unfused = plain.probabilities(x, n);
        const got = fused.probabilities(x, n);
        expect(got, `batch of ${n}`).toEqual(unfused);
        expect(relativeError(got, predicted(model, x, [n, ...c.input]))).toBeLessThan(TOLERANCE);
      }
      fused.dispose();
      plain.dispose();
      model.dispose();
    });

  it("keeps the pooling's NaN rule (NaN and ±Infinity inputs) with either max pooling kernel", () => {
    for (const c of [CASES[0], CASES[4]]) {
      const { model, spec } = convPoolNet(c.input, c.blocks, c.op);
      const per = c.input[0] * c.input[1] * c.input[2];
      const x = randomArray(3 * per, 90);
      x[per + 40] = Number.NaN;
      x[2 * per + 7] = Number.POSITIVE_INFINITY;
      x[2 * per + 60] = Number.NEGATIVE_INFINITY;
      const fast = poolFastEnabled();
      try {
        for (const on of [true, false]) {
          setPoolFastEnabled(on);
          const fused = compile(spec, true);
          const plain = compile(spec, false);
          const unfused = plain.probabilities(x, 3);
          expect(unfused.subarray(4).some((p) => Number.isNaN(p))).toBe(true);
          expect(fused.probabilities(x, 3), `${c.name}, fast pooling ${on}`).toEqual(unfused);
          fused.dispose();
          plain.dispose();
        }
      } finally {
        setPoolFastEnabled(fast);
      }
      model.dispose();
    }
  });

  it('leaves other poolings, strided convolutions and wide convolutions to their own stages', () => {
    const { model, spec } = convPoolNet([28, 28, 1], CASES[0].blocks, 'max');
    const pooled = (layers: NetLayer[]) =>
      fusionPlan(layers, 'infer').layers.filter((l) => l.fused.pool).length;
    expect(pooled(spec.layers)).toBe(2);
    const map = (f: (l: NetLayer) => NetLayer) => spec.layers.map(f);
    expect(pooled(map((l) => (l.type === 'pool' ? { ...l, strides: [1, 1] } : l)))).toBe(0);
    expect(pooled(map((l) => (l.type === 'pool' ? { ...l, size: [3, 3] } : l)))).toBe(0);
    expect(pooled(map((l) => (l.type === 'conv2d' ? { ...l, strides: [2, 2] } : l)))).toBe(0);
    // Over 16 output channels the plan fuses it too; the stages leave it apart where the kernel
    // the input size gives cannot take it: the wide one (5 input channels), Winograd with a tanh.
    for (const [input, act] of [
      [[12, 12, 5], 'relu'],
      [[8, 8, 16], 'tanh'],
    ] as const) {
      const net = convPoolNet([...input], [{ filters: 17, kernel: 3, padding: 'same', act }], 'max');
      expect(pooled(net.spec.layers)).toBe(1);
      const compiled = compile(net.spec, true);
      expect(stageNames(compiled), `${input}, ${act}`).toContain('PoolStage');
      expect(stageNames(compiled)).not.toContain('ConvPoolStage');
      const x = randomArray(2 * input[0] * input[1] * input[2], 97);
      const got = compiled.probabilities(x, 2);
      expect(relativeError(got, predicted(net.model, x, [2, ...input]))).toBeLessThan(1e-5);
      compiled.dispose();
      net.model.dispose();
    }
    // A batch norm after the activation does not fold, and the pooling after it stays apart.
    const bn = spec.layers.findIndex((l) => l.type === 'pool');
    const other = convPoolNet([28, 28, 1], [{ ...CASES[0].blocks[0], bn: true }], 'max');
    const after: NetLayer[] = [spec.layers[0], other.spec.layers[1], ...spec.layers.slice(bn)];
    expect(pooled(after)).toBe(1); // only the second conv's
    other.model.dispose();
    model.dispose();
  });

  it("runs keras-bn's batch norm after the activation and the pooling after it in one pass (channels a multiple of 4): the unfused pass's probabilities bit for bit", () => {
    const blocks: Block[] = [
      { filters: 8, kernel: 3, padding: 'same', act: 'relu', bnAfter: true },
      { filters: 20, kernel: 3, padding: 'same', act: 'relu', bnAfter: true },
      { filters: 6, kernel: 2, padding: 'same', act: 'relu', bnAfter: true },
    ];
    // 15×15 → 7×7 → 3×3 (odd: a row and column dropped), then 6 channels: that pooling stays apart.
    const { model, spec } = convPoolNet([15, 15, 1], blocks, 'max');
    const fused = compile(spec, true);
    const plain = compile(spec, false);
    expect(stageNames(fused).filter((st) => st === 'PoolStage')).toHaveLength(1);
    expect(stageNames(fused).filter((st) => st === 'BatchNormStage')).toHaveLength(3);
    expect(stageNames(plain).filter((st) => st === 'PoolStage')).toHaveLength(3);
    for (const [i, n] of [1, 6].entries()) {
      const x = randomArray(n * 15 * 15, 70 + i).map((v) => 3 * v);
      const got = fused.probabilities(x, n);
      expect(got, `batch of ${n}`).toEqual(plain.probabilities(x, n));
      expect(relativeError(got, predicted(model, x, [n, 15, 15, 1]))).toBeLessThan(TOLERANCE);
    }
    // A NaN reaches the pooled windows (the maximum's NaN rule): the same NaNs, the same values.
    const x = randomArray(3 * 15 * 15, 72);
    x[15 * 15 + 100] = Number.NaN;
    const unfused = plain.probabilities(x, 3);
    expect(unfused.subarray(4).some((p) => Number.isNaN(p))).toBe(true);
    expect(fused.probabilities(x, 3)).toEqual(unfused);
    fused.dispose();
    plain.dispose();
    model.dispose();
  });

  it('splits the fused kernel over the helper threads by images, with the same result', async () => {
    const c = CASES[0];
    const { model, spec } = convPoolNet(c.input, c.blocks, c.op);
    const n = 17; // ≥ 1.5M multiply-adds in the first conv: split, in uneven shares
    const x = randomArray(n * 28 * 28, 95);
    const fused = compile(spec, true);
    const plain = compile(spec, false);
    await setWasmKernelThreads(1);
    const one = fused.probabilities(x, n);
    await setWasmKernelThreads(2);
    const before = splitCalls();
    const two = fused.probabilities(x, n);
    expect(splitCalls() - before).toBeGreaterThanOrEqual(1);
    expect(two).toEqual(one);
    expect(two).toEqual(plain.probabilities(x, n));
    await setWasmKernelThreads(1);
    fused.dispose();
    plain.dispose();
    model.dispose();
  });
});

/** A convolution's geometry and input for {@link fusedAndUnfused}. */
interface KernelCase {
  x: Float32Array;
  shape: [number, number, number, number];
  kernel: Float32Array;
  filter: [number, number, number, number];
  bias: Float32Array | null;
  pad: 'same' | 'valid';
  act: NetActivation;
  op: 'max' | 'avg';
}

/**
 * convPoolForward's output, and what convForward, biasActivation and pool2x2 (the unfused
 * stages' kernels) give one after the other, on the same heap buffers.
 */
function fusedAndUnfused(k: KernelCase): { fused: Float32Array; unfused: Float32Array } {
  const simd = simdKernels(tf.backend() as BackendWasm);
  if (simd === undefined) throw new Error('no SIMD kernels');
  const g = convGeometry(convInfo(k.shape, k.filter, { strides: [1, 1], pad: k.pad }));
  const { n, hp, wp, ci, co, kh, kw, oh, ow } = g;
  const [ph, pw] = [Math.floor(oh / 2), Math.floor(ow / 2)];
  const co4 = roundUp4(co);
  const t = tileFloats(co);
  const sizes = [
    k.x.length,
    k.kernel.length,
    co,
    n * hp * wp * ci,
    kh * kw * ci * co4,
    co4,
    n * oh * ow * co,
  ];
  return simd.withScratch(
    [...sizes, n * ph * pw * co, n * ph * pw * co, t],
    ([x, w, b, xp, w4, b4, y, out, ref, tile]) => {
      simd.floats(x, k.x.length).set(k.x);
      simd.floats(w, k.kernel.length).set(k.kernel);
      if (k.bias) simd.floats(b, co).set(k.bias);
      const bias = k.bias ? b : 0;
      convPoolForward(simd, g, x, w, bias, out, { xp, w4, b4 }, k.act, k.op);
      convForward(simd, g, x, w, y, { xp, w4 });
      biasActivation(simd, y, bias, tile, n * oh * ow * co, co, t, k.act);
      // pool2x2 reads 2·ph × 2·pw of the conv output: its row length is ow.
      pool2x2(simd, y, ref, { n, ih: oh, iw: ow, c: co, oh: ph, ow: pw }, k.op === 'max' ? 0 : 1);
      return {
        fused: simd.floats(out, n * ph * pw * co).slice(),
        unfused: simd.floats(ref, n * ph * pw * co).slice(),
      };
    },
  );
}

describe('convPoolForward', () => {
  it("gives the unfused kernels' output bit for bit (activations, poolings, channel counts, odd sizes)", () => {
    let seed = 200;
    for (const [h, w, ci, co, kk, pad] of [
      [28, 28, 1, 6, 5, 'same'],
      [14, 14, 6, 16, 5, 'valid'],
      [13, 12, 3, 12, 3, 'valid'],
      [9, 9, 2, 3, 4, 'same'],
      [8, 8, 1, 5, 1, 'valid'],
    ] as const)
      for (const act of ['linear', 'relu', 'tanh'] as const)
        for (const op of ['max', 'avg'] as const) {
          const n = 3;
          const k: KernelCase = {
            x: randomArray(n * h * w * ci, seed++).map((v) => 2 * v),
            shape: [n, h, w, ci],
            kernel: randomArray(kk * kk * ci * co, seed++),
            filter: [kk, kk, ci, co],
            bias: act === 'tanh' ? null : randomArray(co, seed++),
            pad,
            act,
            op,
          };
          const { fused, unfused } = fusedAndUnfused(k);
          expect(fused, `${h}x${w}x${ci} → ${co}, ${kk}x${kk} ${pad}, ${act}, ${op}`).toEqual(unfused);
        }
  });

  it('redoes a max-pooled row holding a NaN with the NaN-wins maximum, ±0 included, as lenet_max_pool_2x2', () => {
    // A 1×1 identity conv and tanh: tanh(−1.4e-45) is −0, tanh(0) is +0. Windows of row 0:
    // [−0, +0 / ·, ·] (first maximum −0, NaN-wins maximum +0) and [1, NaN / 0, 0].
    const tiny = -1.4e-45;
    const row0 = [tiny, 0, 1, Number.NaN];
    const row1 = [-1, -1, 0, 0];
    // Row 1 of the output has no NaN: its [−0, +0] window keeps the first maximum.
    const row2 = [tiny, 0, 1, 2];
    const row3 = [-1, -1, 0, 0];
    const x = Float32Array.from([...row0, ...row1, ...row2, ...row3].flatMap((v) => [v, v, v, v]));
    const fast = poolFastEnabled();
    try {
      for (const on of [true, false]) {
        setPoolFastEnabled(on);
        const k: KernelCase = {
          x,
          shape: [1, 4, 4, 4],
          kernel: Float32Array.from(
            [1, 1, 1, 1].flatMap((_, i) => [0, 1, 2, 3].map((j) => (i === j ? 1 : 0))),
          ),
          filter: [1, 1, 4, 4],
          bias: null,
          pad: 'valid',
          act: 'tanh',
          op: 'max',
        };
        const { fused, unfused } = fusedAndUnfused(k);
        expect(Number.isNaN(unfused[4])).toBe(true);
        expect(Object.is(unfused[0], 0)).toBe(true);
        expect(Object.is(unfused[8], on ? -0 : 0)).toBe(true);
        expect(fused, `fast pooling ${on}`).toEqual(unfused);
        for (let i = 0; i < fused.length; i++)
          expect(Object.is(fused[i], unfused[i]), `value ${i}`).toBe(true);
      }
    } finally {
      setPoolFastEnabled(fast);
    }
  });
});

describe('convForward with its bias and relu inside the split', () => {
  /** The direct conv with the epilogue, the unfused conv + biasActivation, and a plain-loop reference. */
  function withAndWithout(
    shape: [number, number, number, number],
    filter: [number, number, number, number],
    pad: 'same' | 'valid',
    act: 'relu' | 'linear',
    withBias: boolean,
    seed: number,
    /** Whether to form the plain-loop reference (slow on big shapes). */
    withReference = true,
  ): { fused: Float32Array; unfused: Float32Array; reference: Float64Array } {
    const simd = simdKernels(tf.backend() as BackendWasm);
    if (simd === undefined) throw new Error('no SIMD kernels');
    const g = convGeometry(convInfo(shape, filter, { strides: [1, 1], pad }));
    const { n, h, w, hp, wp, ci, co, kh, kw, oh, ow, top, left } = g;
    const xs = randomArray(n * h * w * ci, seed).map((v) => 2 * v - 1);
    xs[5] = Number.NaN;
    const ks = randomArray(kh * kw * ci * co, seed + 1).map((v) => v - 0.5);
    const bs = randomArray(co, seed + 2).map((v) => v - 0.5);
    const co4 = roundUp4(co);
    const t = tileFloats(co);
    const outFloats = n * oh * ow * co;
    const sizes = [xs.length, ks.length, co, n * hp * wp * ci, kh * kw * ci * co4, t, outFloats, outFloats];
    const [fused, unfused] = simd.withScratch(sizes, ([x, k, b, xp, w4, tile, y1, y2]) => {
      simd.floats(x, xs.length).set(xs);
      simd.floats(k, ks.length).set(ks);
      simd.floats(b, co).set(bs);
      const bias = withBias ? b : 0;
      convForward(simd, g, x, k, y1, { xp, w4 }, { bias, relu: act === 'relu', tile, t });
      convForward(simd, g, x, k, y2, { xp, w4 });
      biasActivation(simd, y2, bias, tile, outFloats, co, t, act);
      return [simd.floats(y1, outFloats).slice(), simd.floats(y2, outFloats).slice()];
    });
    const reference = new Float64Array(withReference ? outFloats : 0);
    for (let b = 0; b < (withReference ? n : 0); b++)
      for (let y = 0; y < oh; y++)
        for (let x = 0; x < ow; x++)
          for (let o = 0; o < co; o++) {
            let s = withBias ? bs[o] : 0;
            for (let i = 0; i < kh; i++)
              for (let j = 0; j < kw; j++) {
                const [iy, ix] = [y + i - top, x + j - left];
                if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                for (let c = 0; c < ci; c++)
                  s += xs[((b * h + iy) * w + ix) * ci + c] * ks[((i * kw + j) * ci + c) * co + o];
              }
            reference[((b * oh + y) * ow + x) * co + o] = act === 'relu' && s < 0 ? 0 : s;
          }
    return { fused, unfused, reference };
  }

  it("gives the unfused conv and bias + relu pass's output bit for bit, and the sums within 1e-3", () => {
    let seed = 300;
    for (const [shape, filter, pad] of [
      [[2, 9, 8, 3], [3, 3, 3, 32], 'same'],
      [[3, 7, 7, 1], [5, 5, 1, 6], 'valid'],
      [[2, 6, 5, 2], [3, 3, 2, 5], 'same'],
    ] as const)
      for (const act of ['relu', 'linear'] as const)
        for (const withBias of [true, false]) {
          const label = `${shape} * ${filter} ${pad}, ${act}, bias ${withBias}`;
          const { fused, unfused, reference } = withAndWithout(
            [...shape],
            [...filter],
            pad,
            act,
            withBias,
            seed,
          );
          seed += 3;
          expect(fused, label).toEqual(unfused);
          const finite = (a: ArrayLike<number>) => Array.from(a).map((v) => (Number.isNaN(v) ? 0 : v));
          expect(fused.some(Number.isNaN), label).toBe(true);
          expect(relativeError(finite(fused), finite(reference)), label).toBeLessThan(1e-3);
        }
  });

  it("splits over the helper threads by images with the one-thread result (vgg's first layer)", async () => {
    try {
      // 3 images: 2.7 M multiply-adds, split in uneven shares.
      await setWasmKernelThreads(1);
      const one = withAndWithout([3, 32, 32, 3], [3, 3, 3, 32], 'same', 'relu', true, 400, false);
      await setWasmKernelThreads(2);
      const before = splitCalls();
      const two = withAndWithout([3, 32, 32, 3], [3, 3, 3, 32], 'same', 'relu', true, 400, false);
      expect(splitCalls() - before).toBeGreaterThanOrEqual(2);
      // Bytes compared (NaNs included): toEqual is slow on 98 K floats.
      const bytes = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
      expect(bytes(two.fused).equals(bytes(one.fused))).toBe(true);
      expect(bytes(two.fused).equals(bytes(one.unfused))).toBe(true);
      expect(bytes(two.fused).equals(bytes(two.unfused))).toBe(true);
    } finally {
      await setWasmKernelThreads(1);
    }
  });
});
