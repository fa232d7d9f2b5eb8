import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { Cast, Identity, type KernelConfig, type KernelFunc, type TensorInfo } from '../tfjs.js';
import type { KernelArgs } from './conv-util.js';
import { replacingKernel } from './kernel-config.js';

/**
 * Identity for wasm that shares the input's memory (reference-counted, as the cpu backend's
 * Identity and wasm's own Reshape do) instead of copying it. tfjs clones every tensor it saves
 * for the backward pass through Identity, so a training step of a LeNet makes 50–200 of them;
 * tfjs tensors are immutable (variables are re-pointed on assign, not written), so a copy buys
 * nothing. Strings go to `stock`.
 */
export function makeIdentityWasm(stock: KernelFunc | undefined): KernelFunc {
  return (args: KernelArgs): TensorInfo => {
    const { x } = args.inputs as { x: TensorInfo };
    if (x.dtype === 'string' && stock !== undefined) return stock(args) as TensorInfo;
    (args.backend as BackendWasm).incRef(x.dataId);
    return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
  };
}

/** Identity for wasm (see {@link makeIdentityWasm}); `stock` is the copying kernel. */
export function identityConfig(stock: KernelConfig | undefined): KernelConfig {
  return { kernelName: Identity, backendName: 'wasm', kernelFunc: makeIdentityWasm(stock?.kernelFunc) };
}

/**
 * Cast for wasm that shares the input's memory when the dtype does not change (tfjs's
 * `tf.moments` and others cast float32 to float32; the stock kernel copies). Real conversions go
 * to `stock`.
 */
export function makeCastWasm(stock: KernelFunc | undefined): KernelFunc {
  const share = makeIdentityWasm(stock);
  return (args: KernelArgs): TensorInfo => {
    const { x } = args.inputs as { x: TensorInfo };
    const { dtype } = (args.attrs ?? {}) as { dtype?: string };
    if (dtype === x.dtype && x.dtype !== 'string') return share(args) as TensorInfo;
    if (stock === undefined) throw new Error(`Cast: no stock wasm kernel to cast ${x.dtype} to ${dtype}`);
    return stock(args) as TensorInfo;
  };
}

/** Cast for wasm (see {@link makeCastWasm}); `stock` is kept for real conversions, with its setup. */
export const castConfig = replacingKernel(Cast, makeCastWasm);
