import type { KernelConfig, KernelFunc } from '../tfjs.js';

/**
 * The config of a wasm kernel that replaces a stock one and falls back to it: `make` gets the
 * stock kernel function. The stock setup is kept, since it binds the stock kernel's wasm function,
 * without which the fallback cannot run.
 */
export function replacingKernel(
  kernelName: string,
  make: (stock: KernelFunc | undefined) => KernelFunc,
): (stock: KernelConfig | undefined) => KernelConfig {
  return (stock) => ({
    kernelName,
    backendName: 'wasm',
    kernelFunc: make(stock?.kernelFunc),
    ...(stock?.setupFunc ? { setupFunc: stock.setupFunc } : {}),
  });
}
