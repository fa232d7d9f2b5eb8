import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { BackendError } from '../errors.js';
import {
  backend as activeBackend,
  engine,
  getBackend,
  getKernel,
  type KernelConfig,
  type NamedTensorMap,
  type Tensor,
  type TensorInfo,
} from '../tfjs.js';
import { cpuBackend } from '../tfjs-internals.js';
import type { KernelArgs } from './conv-util.js';
import { simdKernels } from './simd.js';

/**
 * Name of this package's fused Adam/AdamW update kernel (wasm; cpu on request), as `tf.profile`
 * and `wasmTrainingKernelNames()` list it. Run it through {@link fusedAdamUpdate}.
 */
export const LENET_ADAM_UPDATE = 'LenetAdamUpdate';

const NAME = LENET_ADAM_UPDATE;

/** The attributes of {@link LENET_ADAM_UPDATE}. */
export interface AdamUpdateAttrs {
  lr: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  /** Bias corrections 1 − β1ᵗ and 1 − β2ᵗ. */
  bc1: number;
  bc2: number;
  /** AdamW's decoupled decay factor (w ← w·(1 − lr·decoupledDecay)); 0 = none. */
  decoupledDecay: number;
  /** L2 penalty added to the gradient (g ← g + coupledDecay·w); 0 = none. */
  coupledDecay: number;
}

const ATTR_NAMES: ReadonlyArray<keyof AdamUpdateAttrs> = [
  'lr',
  'beta1',
  'beta2',
  'epsilon',
  'bc1',
  'bc2',
  'decoupledDecay',
  'coupledDecay',
];

interface AdamInputs {
  w: TensorInfo;
  g: TensorInfo;
  m: TensorInfo;
  v: TensorInfo;
}

/** Checks inputs (float32, same size) and attributes (finite numbers), naming what is wrong. */
function checkArgs(args: KernelArgs, backend: string): { inputs: AdamInputs; attrs: AdamUpdateAttrs } {
  const raw = args.inputs as Partial<Record<keyof AdamInputs, TensorInfo>>;
  const { w, g, m, v } = raw;
  if (w === undefined || g === undefined || m === undefined || v === undefined) {
    throw new BackendError(`${NAME}: inputs w, g, m and v are required`, backend);
  }
  const size = (t: TensorInfo) => t.shape.reduce((a, b) => a * b, 1);
  for (const [label, t] of Object.entries({ w, g, m, v })) {
    if (t.dtype !== 'float32') {
      throw new BackendError(`${NAME}: input ${label} must be float32, got ${t.dtype}`, backend);
    }
    if (size(t) !== size(w)) {
      throw new BackendError(
        `${NAME}: input ${label} has shape [${t.shape.join(', ')}], expected ${size(w)} elements like w [${w.shape.join(', ')}]`,
        backend,
      );
    }
  }
  const given = (args.attrs ?? {}) as Record<string, unknown>;
  const attrs = {} as AdamUpdateAttrs;
  for (const key of ATTR_NAMES) {
    const value = given[key];
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new BackendError(
        `${NAME}: attribute ${key} must be a finite number, got ${String(value)}`,
        backend,
      );
    }
    attrs[key] = value;
  }
  if (attrs.bc1 === 0 || attrs.bc2 <= 0) {
    throw new BackendError(
      `${NAME}: bias corrections must be positive, got bc1 ${attrs.bc1}, bc2 ${attrs.bc2}`,
      backend,
    );
  }
  return { inputs: { w, g, m, v }, attrs };
}

/**
 * One Adam/AdamW step over flat arrays, PyTorch's rule in float32 arithmetic (as its CPU kernel;
 * each operation rounded to float32, so the SIMD kernel gives the same bits):
 *   g' = g + coupledDecay·w;  m' = β1·m + (1−β1)·g';  v' = β2·v + (1−β2)·g'²
 *   w' = w·(1 − lr·decoupledDecay) − (lr/bc1)·m' / (√v'/√bc2 + ε)
 * Each element is read before it is written, so outW, outM and outV may be w, m and v themselves.
 */
export function adamUpdateArrays(
  w: Float32Array,
  g: Float32Array,
  m: Float32Array,
  v: Float32Array,
  outW: Float32Array,
  outM: Float32Array,
  outV: Float32Array,
  a: AdamUpdateAttrs,
): void {
  const f = Math.fround;
  const beta1 = f(a.beta1);
  const beta2 = f(a.beta2);
  const epsilon = f(a.epsilon);
  // The L2 term stays float64, rounded once (see lenet_adam: g and coupledDecay·w may cancel).
  const coupledDecay = a.coupledDecay;
  const oneMinusB1 = f(1 - a.beta1);
  const oneMinusB2 = f(1 - a.beta2);
  const sqrtBc2 = f(Math.sqrt(a.bc2));
  const stepSize = f(a.lr / a.bc1);
  const keep = f(1 - a.lr * a.decoupledDecay);
  const n = w.length;
  const simd = getBackend() === 'wasm' ? simdKernels(activeBackend() as BackendWasm) : undefined;
  if (simd !== undefined && [w, g, m, v, outW, outM, outV].every((x) => simd.views(x) && x.length === n)) {
    // Arrays in the wasm heap: the same loop in SIMD (csrc/lenet-kernels.c), bit for bit.
    simd.fn.lenet_adam(
      w.byteOffset,
      g.byteOffset,
      m.byteOffset,
      v.byteOffset,
      outW.byteOffset,
      outM.byteOffset,
      outV.byteOffset,
      n,
      beta1,
      beta2,
      oneMinusB1,
      oneMinusB2,
      sqrtBc2,
      stepSize,
      keep,
      epsilon,
      coupledDecay,
    );
    return;
  }
  // A float64 operation on float32 operands rounded to float32 is the float32 operation (the
  // double rounding is harmless for +, −, ×, ÷ and √).
  for (let i = 0; i < n; i++) {
    const wi = w[i];
    const gi = f(g[i] + coupledDecay * wi);
    const mi = f(f(beta1 * m[i]) + f(oneMinusB1 * gi));
    const vi = f(f(beta2 * v[i]) + f(f(oneMinusB2 * gi) * gi));
    outM[i] = mi;
    outV[i] = vi;
    outW[i] = f(wi * keep) - f(f(stepSize * mi) / f(f(f(Math.sqrt(vi)) / sqrtBc2) + epsilon));
  }
}

/** {@link LENET_ADAM_UPDATE} for wasm: one pass over the wasm heap (SIMD where it can run), three new outputs. */
export function adamUpdateWasm(args: KernelArgs): TensorInfo[] {
  const backend = args.backend as BackendWasm;
  const { inputs, attrs } = checkArgs(args, 'wasm');
  const { w, g, m, v } = inputs;
  // Allocate every output first: growing the wasm heap would detach views taken before.
  const outs = [w, m, v].map((t) => backend.makeOutput(t.shape, 'float32'));
  const [outW, outM, outV] = outs.map((o) => backend.typedArrayFromHeap(o) as Float32Array);
  const view = (t: TensorInfo) => backend.typedArrayFromHeap(t) as Float32Array;
  adamUpdateArrays(view(w), view(g), view(m), view(v), outW, outM, outV, attrs);
  return outs;
}

/** {@link LENET_ADAM_UPDATE} for the cpu backend (same loop over its typed arrays). */
export function adamUpdateCpu(args: KernelArgs): TensorInfo[] {
  const backend = cpuBackend(args.backend);
  const { inputs, attrs } = checkArgs(args, 'cpu');
  const { w, g, m, v } = inputs;
  const view = (t: TensorInfo): Float32Array => {
    const values = backend.data.get(t.dataId).values;
    if (!(values instanceof Float32Array)) {
      throw new BackendError(`${NAME}: cpu data of an input is not a Float32Array`, 'cpu');
    }
    return values;
  };
  const size = view(w).length;
  const outW = new Float32Array(size);
  const outM = new Float32Array(size);
  const outV = new Float32Array(size);
  adamUpdateArrays(view(w), view(g), view(m), view(v), outW, outM, outV, attrs);
  return [
    backend.makeTensorInfo(w.shape, 'float32', outW),
    backend.makeTensorInfo(m.shape, 'float32', outM),
    backend.makeTensorInfo(v.shape, 'float32', outV),
  ];
}

/** The fused Adam update kernel for wasm. */
export const adamUpdateWasmConfig: KernelConfig = {
  kernelName: LENET_ADAM_UPDATE,
  backendName: 'wasm',
  kernelFunc: adamUpdateWasm,
};

/** The fused Adam update kernel for the cpu backend. */
export const adamUpdateCpuConfig: KernelConfig = {
  kernelName: LENET_ADAM_UPDATE,
  backendName: 'cpu',
  kernelFunc: adamUpdateCpu,
};

/** The tensors one fused Adam/AdamW step reads: weights, gradient, first and second moment. */
export interface AdamUpdateInputs {
  w: Tensor;
  g: Tensor;
  m: Tensor;
  v: Tensor;
}

/** What one fused Adam/AdamW step returns: new tensors for the weights and both moments. */
export interface AdamUpdateOutputs {
  w: Tensor;
  m: Tensor;
  v: Tensor;
}

/**
 * One fused Adam/AdamW step of one variable. The inputs are not changed; the caller owns the
 * three new tensors (assign them, then dispose them).
 */
export type FusedAdamUpdate = (inputs: AdamUpdateInputs, attrs: AdamUpdateAttrs) => AdamUpdateOutputs;

const runFusedAdam: FusedAdamUpdate = (inputs, attrs) => {
  const { w, g, m, v } = inputs;
  const named: NamedTensorMap = { w, g, m, v };
  const [outW, outM, outV] = engine().runKernel(NAME, named, { ...attrs }) as Tensor[];
  return { w: outW, m: outM, v: outV };
};

/**
 * The fused Adam/AdamW update on the active backend, or null where that backend has none (wasm
 * has it once the training kernels are registered, cpu after `registerFusedOptimizerKernels`).
 * Ask again after switching backends.
 */
export function fusedAdamUpdate(): FusedAdamUpdate | null {
  return getKernel(NAME, getBackend()) === undefined ? null : runFusedAdam;
}
