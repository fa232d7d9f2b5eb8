import { createRequire } from 'node:module';
import { BackendError } from './errors.js';
import type { BackendValues, DataId, DataType, TensorInfo } from './tfjs.js';
import * as tf from './tfjs.js';

/**
 * The one place this package reaches into TensorFlow.js beyond its public API: tfjs-backend-wasm's
 * Emscripten module (memory, heap, allocator, tensor offsets), tfjs-backend-cpu's tensor store,
 * tfjs-core's gradient depth and `fused.conv2d`, and tfjs-layers' `Dropout.prototype.call`. None of
 * these is covered by semver, so each is checked before it is used and a missing one fails loudly
 * with the installed and tested versions, instead of training going wrong without a word.
 */

/** The TensorFlow.js release these internals were written against and tested with. */
export const TESTED_TFJS_VERSION = '4.22.0';

/** One internal and whether it is there, as `[what, present]`. */
type Check = readonly [what: string, present: boolean];

/** The installed tfjs packages whose internals are read, for the error message. */
function installedVersions(): string {
  let wasm = 'not installed';
  try {
    wasm = (
      createRequire(import.meta.url)('@tensorflow/tfjs-backend-wasm/package.json') as { version: string }
    ).version;
  } catch {
    // Only the message loses the wasm version.
  }
  return `@tensorflow/tfjs-core ${tf.version_core}, @tensorflow/tfjs-layers ${tf.version_layers}, @tensorflow/tfjs-backend-wasm ${wasm}`;
}

/** Throws a BackendError listing every missing internal, unless all are present. */
function requireInternals(checks: readonly Check[], backend: string): void {
  const missing = checks.filter(([, present]) => !present).map(([what]) => what);
  if (missing.length === 0) return;
  throw new BackendError(
    `@lenet/backend cannot run on this TensorFlow.js: ${missing.join('; ')} ` +
      `(installed ${installedVersions()}; tested with ${TESTED_TFJS_VERSION}). ` +
      `Install the @tensorflow/tfjs packages at ${TESTED_TFJS_VERSION}, or use the backend without ` +
      `this package's kernels (useBackend(name, { registerWasmKernels: false })).`,
    backend,
  );
}

const isFunction = (x: unknown): boolean => typeof x === 'function';
/** A property read that never throws (on null, undefined or primitives it gives undefined). */
const prop = (x: unknown, key: string): unknown =>
  x !== null && typeof x === 'object' ? Reflect.get(x, key) : undefined;

// ---- tfjs-backend-wasm ---------------------------------------------------------------------------

/** The part of the WebAssembly global used here (this package compiles without the DOM lib). */
const wasmMemoryClass = (
  globalThis as unknown as { WebAssembly: { Memory: abstract new (...a: never[]) => object } }
).WebAssembly.Memory;

/** What the SIMD kernels use of one tfjs-backend-wasm instance. */
export interface WasmHeap {
  /** tfjs's wasm memory (a `WebAssembly.Memory`), which the SIMD module imports. */
  readonly memory: object;
  /** The memory's bytes as they are now (growing the heap replaces the buffer). */
  buffer(): ArrayBufferLike;
  /** Byte offset of a tensor's data in the memory, or undefined when it is not on this backend. */
  offset(dataId: DataId): number | undefined;
  /** Emscripten's allocator on that heap (0 when out of memory). */
  malloc(bytes: number): number;
  free(ptr: number): void;
}

/** The internals read of a BackendWasm: the Emscripten module and the tensor table. */
interface WasmParts {
  wasm: {
    asm: { memory: object };
    HEAPU8: Uint8Array;
    _malloc(bytes: number): number;
    _free(ptr: number): void;
  };
  dataIdMap: { get(dataId: DataId): { memoryOffset: number } | undefined };
}

/** Per Emscripten module (one per backend instance): its checked heap. */
const heaps = new WeakMap<object, WasmHeap>();

/**
 * Checks that `backend` (a tfjs-backend-wasm `BackendWasm`) has every internal the SIMD kernels
 * read, and returns them typed. Throws a BackendError naming what is missing and the versions.
 */
export function wasmHeap(backend: unknown): WasmHeap {
  const module = prop(backend, 'wasm');
  const known = module !== undefined ? heaps.get(module as object) : undefined;
  if (known !== undefined) return known;
  const table = prop(backend, 'dataIdMap');
  requireInternals(
    [
      ['BackendWasm.wasm (the Emscripten module)', typeof module === 'object' && module !== null],
      [
        'BackendWasm.wasm.asm.memory (a WebAssembly.Memory)',
        prop(prop(module, 'asm'), 'memory') instanceof wasmMemoryClass,
      ],
      ['BackendWasm.wasm.HEAPU8 (a Uint8Array)', prop(module, 'HEAPU8') instanceof Uint8Array],
      ['BackendWasm.wasm._malloc', isFunction(prop(module, '_malloc'))],
      ['BackendWasm.wasm._free', isFunction(prop(module, '_free'))],
      ['BackendWasm.dataIdMap.get', isFunction(prop(table, 'get'))],
    ],
    'wasm',
  );
  const parts = backend as WasmParts;
  const wasm = parts.wasm;
  const heap: WasmHeap = {
    memory: wasm.asm.memory,
    buffer: () => wasm.HEAPU8.buffer,
    offset: (dataId) => parts.dataIdMap.get(dataId)?.memoryOffset,
    malloc: (bytes) => wasm._malloc(bytes),
    free: (ptr) => wasm._free(ptr),
  };
  heaps.set(wasm, heap);
  return heap;
}

// ---- tfjs-backend-cpu ----------------------------------------------------------------------------

/** What the cpu kernels use of tfjs's cpu backend (the package does not depend on its types). */
export interface CpuBackendParts {
  data: { get(dataId: DataId): { values?: BackendValues } };
  makeTensorInfo(shape: number[], dtype: DataType, values?: BackendValues): TensorInfo;
}

const checkedCpu = new WeakSet<object>();

/** `backend` (tfjs's `MathBackendCPU`) with its tensor store, checked. */
export function cpuBackend(backend: unknown): CpuBackendParts {
  if (checkedCpu.has(backend as object)) return backend as CpuBackendParts;
  requireInternals(
    [
      ['MathBackendCPU.data.get', isFunction(prop(prop(backend, 'data'), 'get'))],
      ['MathBackendCPU.makeTensorInfo', isFunction(prop(backend, 'makeTensorInfo'))],
    ],
    'cpu',
  );
  checkedCpu.add(backend as object);
  return backend as CpuBackendParts;
}

// ---- tfjs-core and tfjs-layers -------------------------------------------------------------------

/** tfjs-core's fused conv2d. */
export type FusedConv2D = typeof tf.fused.conv2d;

/** What the dropout patch reads of tfjs-layers' Dropout layer. */
export interface DropoutLayer {
  rate: number;
  seed?: number;
  noiseShape?: unknown;
  getClassName(): string;
  invokeCallHook(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): void;
}

/** tfjs-layers' `Dropout.prototype.call`. */
export type DropoutCall = (
  this: DropoutLayer,
  inputs: tf.Tensor | tf.Tensor[],
  kwargs: Record<string, unknown>,
) => tf.Tensor | tf.Tensor[];

/** Where the patched functions live: what {@link checkLayerInternals} checks. */
export interface LayerInternals {
  /** The object tfjs-layers reads `fused.conv2d` from at every call (shared with tfjs-core). */
  fused: { conv2d: FusedConv2D };
  /** A Dropout layer, whose prototype holds the `call` that is patched. */
  dropout: DropoutLayer;
  /** tfjs's engine, whose state counts the gradient tapes being recorded. */
  engine: { state: { gradientDepth: number } };
}

/** The installed ones; the Dropout layer is made at load, as tfjs-layers numbers layers globally. */
const installedLayerInternals: LayerInternals = {
  fused: tf.fused as LayerInternals['fused'],
  dropout: tf.layers.dropout({ rate: 0.5 }) as unknown as DropoutLayer,
  engine: tf.engine(),
};

let checkedLayers: LayerInternals | undefined;

/**
 * Checks the tfjs-core and tfjs-layers internals the training kernels patch or read (default: the
 * installed ones) and returns them. Throws a BackendError naming what is missing and the versions.
 */
export function checkLayerInternals(parts: LayerInternals = installedLayerInternals): LayerInternals {
  const fusedConv = Object.getOwnPropertyDescriptor(prop(parts, 'fused') ?? {}, 'conv2d');
  const dropout = prop(parts, 'dropout');
  const dropoutProto: unknown = dropout !== undefined ? Object.getPrototypeOf(dropout) : undefined;
  requireInternals(
    [
      ['tf.fused.conv2d (a writable function)', isFunction(fusedConv?.value) && fusedConv?.writable === true],
      ['tfjs-layers Dropout.prototype.call', isFunction(prop(dropoutProto, 'call'))],
      ['tfjs-layers Dropout.invokeCallHook', isFunction(prop(dropout, 'invokeCallHook'))],
      ['tfjs-layers Dropout.getClassName', isFunction(prop(dropout, 'getClassName'))],
      ['tfjs-layers Dropout.rate', typeof prop(dropout, 'rate') === 'number'],
      [
        'tfjs-layers Dropout.seed and noiseShape',
        typeof dropout === 'object' && dropout !== null && 'seed' in dropout && 'noiseShape' in dropout,
      ],
      [
        'tf.engine().state.gradientDepth',
        typeof prop(prop(prop(parts, 'engine'), 'state'), 'gradientDepth') === 'number',
      ],
    ],
    'wasm',
  );
  return parts;
}

/** The installed internals, checked once. */
function layerInternals(): LayerInternals {
  checkedLayers ??= checkLayerInternals();
  return checkedLayers;
}

/** The object holding tfjs's `fused.conv2d`, which tfjs-layers' Conv2D reads at every call. */
export function fusedOps(): { conv2d: FusedConv2D } {
  return layerInternals().fused;
}

/** The prototype whose `call` every tfjs-layers Dropout layer runs. */
export function dropoutPrototype(): { call: DropoutCall } {
  return Object.getPrototypeOf(layerInternals().dropout) as { call: DropoutCall };
}

/** How many gradient tapes tfjs is recording now (0: not in a gradient computation). */
export function gradientDepth(): number {
  return layerInternals().engine.state.gradientDepth;
}
