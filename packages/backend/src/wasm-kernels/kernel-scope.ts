import { BackendError } from '../errors.js';
import {
  getKernel,
  type KernelBackend,
  type NamedAttrMap,
  type NamedTensorInfoMap,
  type TensorInfo,
} from '../tfjs.js';

/**
 * Runs other kernels of one backend from inside a kernel function, and frees every
 * intermediate result it made except the ones handed back with `keep`.
 *
 * Kernel functions must not call tf ops (the engine would record them on the tape), so
 * the composite kernels of this package call the backend's own kernel functions directly.
 */
export class KernelScope {
  private readonly made: TensorInfo[] = [];

  constructor(
    private readonly backend: KernelBackend,
    private readonly backendName: string,
  ) {}

  /** Runs the registered kernel `kernelName` of this backend and tracks its output. */
  run(kernelName: string, inputs: NamedTensorInfoMap, attrs: NamedAttrMap = {}): TensorInfo {
    const config = getKernel(kernelName, this.backendName);
    if (config === undefined) {
      throw new BackendError(`kernel '${kernelName}' is not registered for backend '${this.backendName}'`);
    }
    const out = config.kernelFunc({ inputs, backend: this.backend, attrs });
    if (Array.isArray(out)) {
      throw new BackendError(`kernel '${kernelName}' returned several outputs where one was expected`);
    }
    this.made.push(out);
    return out;
  }

  /** Frees every tracked intermediate except `result`, and returns `result`. */
  finish(result: TensorInfo): TensorInfo {
    for (const t of this.made) {
      if (t !== result) this.backend.disposeData(t.dataId);
    }
    this.made.length = 0;
    return result;
  }

  /** Frees every tracked intermediate (used when a kernel fails half way). */
  disposeAll(): void {
    for (const t of this.made) this.backend.disposeData(t.dataId);
    this.made.length = 0;
  }
}

/** Runs `body` with a fresh scope; intermediates are freed whether it returns or throws. */
export function withKernelScope(
  backend: KernelBackend,
  backendName: string,
  body: (scope: KernelScope) => TensorInfo,
): TensorInfo {
  const scope = new KernelScope(backend, backendName);
  try {
    return scope.finish(body(scope));
  } catch (err) {
    scope.disposeAll();
    throw err;
  }
}
