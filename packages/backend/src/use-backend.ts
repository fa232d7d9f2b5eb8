import { BackendError, type SkipReason } from './errors.js';
import {
  defaultProbeEnvironment,
  NATIVE_PACKAGES,
  type NativeBackendName,
  type ProbeEnvironment,
  type ProbeResult,
  probeNative,
} from './probe.js';
import { registerWasmTrainingKernels } from './register.js';
import * as tf from './tfjs.js';
import { wasmHeap } from './tfjs-internals.js';
import { relaxedSimdEnabled } from './wasm-kernels/kernel-module.js';
import { wasmKernelThreads } from './wasm-kernels/kernel-threads.js';
import { withSharedTfjsHeap } from './wasm-kernels/shared-heap.js';

/** The backends this package can switch to, fastest first. */
export type BackendName = 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';

/** What a caller may ask for: one backend, or 'auto' for the fastest one present. */
export type BackendRequest = BackendName | 'auto';

/** The order 'auto' tries backends in. */
export const AUTO_ORDER: readonly BackendName[] = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];

/** A backend that was not used, and why. */
export interface SkippedBackend {
  name: BackendName;
  reason: SkipReason;
  /** The underlying message (error text, path looked at), for logs. */
  detail?: string;
}

/** What `useBackend` switched to. */
export interface BackendInfo {
  /** The backend now active. */
  name: BackendName;
  /** What was asked for. */
  requested: BackendRequest;
  /** The name tfjs knows it by (`tf.getBackend()`): both native builds are 'tensorflow'. */
  tfBackend: string;
  /** Every backend not used, with the reason ('lower priority' for those after the chosen one). */
  skipped: SkippedBackend[];
  /** wasm only: whether the SIMD build was loaded. */
  wasmSimd?: boolean;
  /** wasm and cpu: the number of threads tfjs's kernels run on (tfjs turns wasm threads off under Node). */
  threads?: number;
  /**
   * wasm only: the threads this package's SIMD kernels split big convolution and dense calls
   * over, the calling thread included (see `setWasmKernelThreads`).
   */
  kernelThreads?: number;
  /** wasm only: whether those kernels run their relaxed-SIMD build (fused multiply-adds). */
  kernelFma?: boolean;
  /**
   * wasm only: whether tfjs's heap is a shared memory, so that the helper threads run their share
   * of a kernel in place (and the batch norm's passes split too) instead of on copies.
   */
  kernelSharedHeap?: boolean;
  /** wasm only: the training kernels this package registered. */
  kernels?: string[];
}

/** Options of `useBackend` and `availableBackends`. */
export interface UseBackendOptions {
  /** Register this package's wasm training kernels when wasm is chosen (default true). */
  registerWasmKernels?: boolean;
  /** Where probing looks for packages, addons and GPUs (tests replace it). */
  probeEnvironment?: ProbeEnvironment;
}

/** Availability of one backend as seen by `availableBackends`. */
export interface BackendAvailability {
  name: BackendName;
  available: boolean;
  reason?: SkipReason;
  detail?: string;
}

/** Which native package this process has loaded (only one may register 'tensorflow'). */
let loadedNative: NativeBackendName | null = null;

function isBackendName(name: unknown): name is BackendName {
  return typeof name === 'string' && (AUTO_ORDER as readonly string[]).includes(name);
}

async function activate(tfName: string): Promise<ProbeResult> {
  try {
    if (await tf.setBackend(tfName)) {
      await tf.ready();
      return { ok: true };
    }
    return { ok: false, reason: 'failed to initialise', detail: `tf.setBackend('${tfName}') returned false` };
  } catch (err) {
    return {
      ok: false,
      reason: 'failed to initialise',
      detail: err instanceof Error ? err.message : String(err),
    };
  }
}

async function tryNative(name: NativeBackendName, env: ProbeEnvironment): Promise<ProbeResult> {
  if (loadedNative !== null && loadedNative !== name) {
    return {
      ok: false,
      reason: 'failed to initialise',
      detail: `${NATIVE_PACKAGES[loadedNative]} is already loaded in this process and owns the 'tensorflow' backend`,
    };
  }
  if (loadedNative === null) {
    const probe = probeNative(name, env);
    if (!probe.ok) return probe;
    loadedNative = name;
  }
  return activate('tensorflow');
}

async function tryWasm(options: UseBackendOptions): Promise<ProbeResult & { kernels?: string[] }> {
  let kernels: string[] | undefined;
  try {
    if (options.registerWasmKernels === false) await import('@tensorflow/tfjs-backend-wasm');
    else kernels = await registerWasmTrainingKernels();
  } catch (err) {
    const code = (err as { code?: unknown })?.code;
    const missing = code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
    return {
      ok: false,
      reason: missing ? 'not installed' : 'failed to initialise',
      detail: err instanceof Error ? err.message : String(err),
    };
  }
  const result = await withSharedTfjsHeap(() => activate('wasm'));
  if (!result.ok) return result;
  // The SIMD kernels read tfjs-backend-wasm's internals: a tfjs without them fails here, loudly.
  if (kernels !== undefined) wasmHeap(tf.backend());
  return { ok: true, kernels };
}

async function tryBackend(
  name: BackendName,
  options: UseBackendOptions,
): Promise<ProbeResult & { kernels?: string[] }> {
  switch (name) {
    case 'tensorflow-gpu':
    case 'tensorflow':
      return tryNative(name, options.probeEnvironment ?? defaultProbeEnvironment);
    case 'wasm':
      return tryWasm(options);
    case 'cpu':
      return activate('cpu');
  }
}

async function describeActive(
  name: BackendName,
  requested: BackendRequest,
  skipped: SkippedBackend[],
  kernels: string[] | undefined,
): Promise<BackendInfo> {
  const info: BackendInfo = { name, requested, tfBackend: tf.getBackend(), skipped };
  if (name === 'wasm') {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    info.wasmSimd = Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'));
    info.threads = wasm.getThreadsCount();
    if (kernels !== undefined) {
      info.kernels = kernels;
      info.kernelThreads = wasmKernelThreads();
      info.kernelFma = relaxedSimdEnabled();
      info.kernelSharedHeap = wasmHeap(tf.backend()).buffer() instanceof SharedArrayBuffer;
    }
  } else if (name === 'cpu') {
    info.threads = 1;
  }
  return info;
}

/**
 * Switches TensorFlow.js to `request` and reports what is active. 'auto' tries
 * tensorflow-gpu → tensorflow → wasm → cpu and keeps the first that works; every other backend
 * is listed in `skipped` with its reason. Asking for one backend that cannot be used throws a
 * BackendError naming the reason. When wasm ends up active its training kernels are registered.
 */
export async function useBackend(
  request: BackendRequest,
  options: UseBackendOptions = {},
): Promise<BackendInfo> {
  if (request !== 'auto' && !isBackendName(request)) {
    throw new BackendError(
      `unknown backend '${String(request)}': expected one of 'auto', ${AUTO_ORDER.map((n) => `'${n}'`).join(', ')}`,
      String(request),
      undefined,
      { code: 'BACKEND_UNKNOWN' },
    );
  }
  const order = request === 'auto' ? AUTO_ORDER : [request];
  const skipped: SkippedBackend[] = [];
  for (const [i, name] of order.entries()) {
    const result = await tryBackend(name, options);
    if (result.ok) {
      for (const later of order.slice(i + 1)) skipped.push({ name: later, reason: 'lower priority' });
      return describeActive(name, request, skipped, result.kernels);
    }
    skipped.push({ name, reason: result.reason, detail: result.detail });
  }
  const last = skipped[skipped.length - 1];
  if (request !== 'auto' && last !== undefined) {
    const pkg =
      request === 'tensorflow' || request === 'tensorflow-gpu' ? ` (${NATIVE_PACKAGES[request]})` : '';
    throw new BackendError(
      `backend '${request}'${pkg} is not available: ${last.reason}${last.detail ? ` — ${last.detail}` : ''}`,
      request,
      last.reason,
    );
  }
  throw new BackendError(
    `no backend could be initialised: ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}`,
    'auto',
    undefined,
    // Nothing the caller named is at fault: this machine runs no backend at all.
    { code: 'BACKEND_UNAVAILABLE', kind: 'failure' },
  );
}

/**
 * Reports which backends could be used, without switching or loading any native package
 * (a native backend whose package, addon and GPU are present counts as available; whether it
 * then loads is only known to `useBackend`). Used by benchmarks to pick their columns.
 */
export async function availableBackends(options: UseBackendOptions = {}): Promise<BackendAvailability[]> {
  const env = options.probeEnvironment ?? defaultProbeEnvironment;
  const out: BackendAvailability[] = [];
  for (const name of AUTO_ORDER) {
    if (name === 'tensorflow-gpu' || name === 'tensorflow') {
      if (loadedNative === name) {
        out.push({ name, available: true });
        continue;
      }
      const probe = probeNative(name, env, { load: false });
      out.push(
        probe.ok
          ? { name, available: true }
          : { name, available: false, reason: probe.reason, detail: probe.detail },
      );
    } else if (name === 'wasm') {
      const dir = env.packageDir('@tensorflow/tfjs-backend-wasm');
      const hasWasm = 'WebAssembly' in globalThis;
      out.push(
        dir !== null && hasWasm
          ? { name, available: true }
          : {
              name,
              available: false,
              reason: 'not installed',
              detail: hasWasm ? undefined : 'no WebAssembly',
            },
      );
    } else {
      out.push({ name, available: true });
    }
  }
  return out;
}
