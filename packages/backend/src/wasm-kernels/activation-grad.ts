import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { BackendError } from '../errors.js';
import {
  backend as activeBackend,
  engine,
  type GradConfig,
  getBackend,
  getGradient,
  getKernel,
  type KernelConfig,
  type NamedAttrMap,
  registerGradient,
  type Tensor,
  type TensorInfo,
} from '../tfjs.js';
import type { KernelArgs } from './conv-util.js';
import { simdKernels } from './simd.js';

/** Fused tanh gradient: inputs y = tanh(x) and dy, output dy·(1 − y²). */
export const LENET_TANH_GRAD = 'LenetTanhGrad';
/** Fused relu gradient: inputs x and dy, output dy·step(x) (tfjs's rule: NaN where x is NaN). */
export const LENET_RELU_GRAD = 'LenetReluGrad';

type Fused = typeof LENET_TANH_GRAD | typeof LENET_RELU_GRAD;

/** The saved tensor each gradient reads: tanh saves its output y, relu its input x. */
const SAVED_NAME: Record<Fused, 'y' | 'x'> = { [LENET_TANH_GRAD]: 'y', [LENET_RELU_GRAD]: 'x' };

function fusedKernel(name: Fused): KernelConfig['kernelFunc'] {
  const savedName = SAVED_NAME[name];
  return (args: KernelArgs): TensorInfo => {
    const backend = args.backend as BackendWasm;
    const inputs = args.inputs as Record<string, TensorInfo | undefined>;
    const saved = inputs[savedName];
    const dy = inputs.dy;
    if (saved === undefined || dy === undefined) {
      throw new BackendError(`${name}: inputs ${savedName} and dy are required`, 'wasm');
    }
    if (saved.dtype !== 'float32' || dy.dtype !== 'float32' || saved.shape.join() !== dy.shape.join()) {
      throw new BackendError(
        `${name}: expected float32 ${savedName} and dy of one shape, got ${savedName} ${saved.dtype} ` +
          `[${saved.shape.join(', ')}] and dy ${dy.dtype} [${dy.shape.join(', ')}]`,
        'wasm',
      );
    }
    const simd = simdKernels(backend);
    if (simd === undefined) throw new BackendError(`${name}: the SIMD kernels are not available`, 'wasm');
    const out = backend.makeOutput(saved.shape, 'float32');
    const size = saved.shape.reduce((a, b) => a * b, 1);
    if (size === 0) return out;
    const run = name === LENET_TANH_GRAD ? simd.fn.lenet_tanh_grad : simd.fn.lenet_relu_grad;
    run(simd.ptr(saved), simd.ptr(dy), simd.ptr(out), size);
    return out;
  };
}

/** The fused tanh gradient kernel for wasm (one SIMD pass instead of Square, Sub, Multiply). */
export const tanhGradWasmConfig: KernelConfig = {
  kernelName: LENET_TANH_GRAD,
  backendName: 'wasm',
  kernelFunc: fusedKernel(LENET_TANH_GRAD),
};

/** The fused relu gradient kernel for wasm (one SIMD pass instead of Step, Cast, Multiply). */
export const reluGradWasmConfig: KernelConfig = {
  kernelName: LENET_RELU_GRAD,
  backendName: 'wasm',
  kernelFunc: fusedKernel(LENET_RELU_GRAD),
};

/** True when the active backend is wasm with `fused` and the SIMD kernels, and both tensors suit them. */
function fastPath(fused: Fused, saved: Tensor, dy: Tensor): boolean {
  return (
    getBackend() === 'wasm' &&
    getKernel(fused, 'wasm') !== undefined &&
    simdKernels(activeBackend() as BackendWasm) !== undefined &&
    saved.dtype === 'float32' &&
    dy.dtype === 'float32' &&
    saved.shape.join() === dy.shape.join()
  );
}

/**
 * `original` (tfjs's gradient of Tanh or Relu) routed to the fused kernel on wasm; other backends
 * and other dtypes keep `original`. Gradients are registered for every backend at once, hence the
 * dispatch. Like tfjs's own, the result has no gradient of its own (no second derivatives).
 */
function routedGradient(original: GradConfig, fused: Fused): GradConfig {
  const savedName = SAVED_NAME[fused];
  return {
    ...original,
    gradFunc: (dy: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
      const [s] = saved;
      const g = Array.isArray(dy) ? dy[0] : dy;
      if (s === undefined || !fastPath(fused, s, g)) return original.gradFunc(dy, saved, attrs);
      return { x: () => engine().runKernel(fused, { [savedName]: s, dy: g }) as Tensor };
    },
  };
}

/** tfjs's gradients that ours replace, while ours are in place. */
const originals = new Map<string, GradConfig>();

/** Routes Tanh's and Relu's gradients to the fused kernels on wasm. Idempotent. */
export function installActivationGradients(): void {
  for (const [kernel, fused] of [
    ['Tanh', LENET_TANH_GRAD],
    ['Relu', LENET_RELU_GRAD],
  ] as const) {
    if (originals.has(kernel)) continue;
    const original = getGradient(kernel);
    if (original === undefined) continue;
    originals.set(kernel, original);
    registerGradient(routedGradient(original, fused));
  }
}

/** Puts tfjs's Tanh and Relu gradients back. Returns true when some were installed. */
export function restoreActivationGradients(): boolean {
  for (const original of originals.values()) registerGradient(original);
  const had = originals.size > 0;
  originals.clear();
  return had;
}
