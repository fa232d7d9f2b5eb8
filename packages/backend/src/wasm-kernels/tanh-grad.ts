import {
  engine,
  type GradConfig,
  getBackend,
  getGradient,
  getKernel,
  type KernelBackend,
  type KernelConfig,
  type NamedAttrMap,
  registerGradient,
  registerKernel,
  type Tensor,
  type TensorInfo,
  unregisterKernel,
} from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { BackendError } from '../errors.js';
import type { KernelArgs } from './conv-util.js';

/** Name of this package's fused tanh gradient kernel: inputs y = tanh(x) and dy, output dy·(1 − y²). */
export const LENET_TANH_GRAD = 'LenetTanhGrad';

const NAME = LENET_TANH_GRAD;

/** Writes dy[i]·(1 − y[i]²) to out[i] (length read in the loop condition: see `tanhInto`). */
export function tanhGradInto(y: Float32Array, dy: Float32Array, out: Float32Array): void {
  for (let i = 0; i < y.length; i++) {
    const v = y[i];
    out[i] = dy[i] * (1 - v * v);
  }
}

function checkedInputs(args: KernelArgs, backendName: string): { y: TensorInfo; dy: TensorInfo } {
  const { y, dy } = args.inputs as { y?: TensorInfo; dy?: TensorInfo };
  if (y === undefined || dy === undefined) {
    throw new BackendError(`${NAME}: inputs y and dy are required`, backendName);
  }
  if (y.dtype !== 'float32' || dy.dtype !== 'float32' || y.shape.join() !== dy.shape.join()) {
    throw new BackendError(
      `${NAME}: expected float32 y and dy of one shape, got y ${y.dtype} [${y.shape.join(', ')}] ` +
        `and dy ${dy.dtype} [${dy.shape.join(', ')}]`,
      backendName,
    );
  }
  return { y, dy };
}

/**
 * The tanh gradient in one pass over the wasm heap, instead of the three kernels (Square, Sub,
 * Multiply) and two intermediate tensors of tfjs's registered gradient.
 */
export function tanhGradWasm(args: KernelArgs): TensorInfo {
  const backend = args.backend as BackendWasm;
  const { y, dy } = checkedInputs(args, 'wasm');
  // Allocate first: growing the wasm heap detaches views taken before.
  const out = backend.makeOutput(y.shape, 'float32');
  if (y.shape.reduce((a, b) => a * b, 1) === 0) return out;
  tanhGradInto(
    backend.typedArrayFromHeap(y) as Float32Array,
    backend.typedArrayFromHeap(dy) as Float32Array,
    backend.typedArrayFromHeap(out) as Float32Array,
  );
  return out;
}

/** The same kernel for the cpu backend (so that gradients on cpu and wasm can be compared). */
export function tanhGradCpu(args: KernelArgs): TensorInfo {
  const backend = args.backend as KernelBackend;
  const { y, dy } = checkedInputs(args, 'cpu');
  const out = new Float32Array(y.shape.reduce((a, b) => a * b, 1));
  tanhGradInto(backend.readSync(y.dataId) as Float32Array, backend.readSync(dy.dataId) as Float32Array, out);
  return { dataId: backend.write(out, y.shape, 'float32'), shape: y.shape, dtype: 'float32' };
}

/** The fused tanh gradient kernel for wasm. */
export const tanhGradWasmConfig: KernelConfig = {
  kernelName: LENET_TANH_GRAD,
  backendName: 'wasm',
  kernelFunc: tanhGradWasm,
};

/** The fused tanh gradient kernel for cpu. */
export const tanhGradCpuConfig: KernelConfig = {
  kernelName: LENET_TANH_GRAD,
  backendName: 'cpu',
  kernelFunc: tanhGradCpu,
};

/**
 * Largest tensor for which the fused kernel runs on wasm. The JS loop costs ~1.9 ns an element
 * against ~1.0 ns for tfjs's three SIMD wasm kernels together, which in turn pay ~15 µs more in
 * per-kernel overhead and intermediate tensors: the fused pass wins below ~16k elements (LeNet's
 * dense layers) and loses on convolution activations ([64, 28, 28, 6]: 0.56 ms against 0.32 ms).
 * On cpu the fused loop is faster at every size (three JS loops there).
 */
export const WASM_FUSED_TANH_GRAD_MAX_SIZE = 16384;

/** True when the active backend has {@link LENET_TANH_GRAD} and y, dy suit it. */
function fastPath(y: Tensor, dy: Tensor): boolean {
  const backend = getBackend();
  return (
    getKernel(NAME, backend) !== undefined &&
    (backend !== 'wasm' || y.size <= WASM_FUSED_TANH_GRAD_MAX_SIZE) &&
    y.dtype === 'float32' &&
    dy.dtype === 'float32' &&
    y.shape.join() === dy.shape.join()
  );
}

/**
 * Tanh's gradient routed to {@link LENET_TANH_GRAD} on backends that have it (wasm, for tensors
 * up to {@link WASM_FUSED_TANH_GRAD_MAX_SIZE} elements, and cpu, once registered); everywhere else
 * it is `original` unchanged. (Gradients are registered for all backends at once, hence the
 * dispatch.)
 */
export function tanhGradConfig(original: GradConfig): GradConfig {
  return {
    ...original,
    gradFunc: (dy: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
      const [y] = saved;
      const g = Array.isArray(dy) ? dy[0] : dy;
      if (!fastPath(y, g)) return original.gradFunc(dy, saved, attrs);
      return { x: () => engine().runKernel(NAME, { y, dy: g }) as Tensor };
    },
  };
}

/** The Tanh gradient tfjs registered, while ours is in place (undefined otherwise). */
let originalTanhGrad: GradConfig | undefined;
/** Whether this module registered the cpu kernel (to remove it again). */
let cpuKernelOurs = false;

/**
 * Registers the cpu kernel and routes Tanh's gradient to the fused kernel. (Like tfjs's own Tanh
 * gradient, the result has no gradient of its own: tfjs cannot take second derivatives of tanh.)
 * Idempotent; {@link restoreTanhGradient} undoes it.
 */
export function installTanhGradient(): void {
  if (getKernel(NAME, 'cpu') === undefined) {
    registerKernel(tanhGradCpuConfig);
    cpuKernelOurs = true;
  }
  if (originalTanhGrad !== undefined) return;
  const original = getGradient('Tanh');
  if (original === undefined) return;
  originalTanhGrad = original;
  registerGradient(tanhGradConfig(original));
}

/** Puts tfjs's Tanh gradient back and removes the cpu kernel this module registered. */
export function restoreTanhGradient(): void {
  if (originalTanhGrad !== undefined) {
    registerGradient(originalTanhGrad);
    originalTanhGrad = undefined;
  }
  if (cpuKernelOurs) {
    if (getKernel(NAME, 'cpu') === tanhGradCpuConfig) unregisterKernel(NAME, 'cpu');
    cpuKernelOurs = false;
  }
}
