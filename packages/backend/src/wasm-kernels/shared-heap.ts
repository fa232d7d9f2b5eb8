import { SHARED_MAX_PAGES } from './kernel-module.js';
import { withSharedMemoryDefinition } from './wasm-binary.js';

/** The part of the WebAssembly global used here (this package compiles without the DOM lib). */
interface WasmApi {
  instantiate(source: unknown, imports?: object): Promise<unknown>;
}
const wasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

let wanted = globalThis.process?.env?.LENET_SHARED_HEAP !== '0';

/**
 * Turns off or on (for A/B measurements) giving tfjs-backend-wasm a shared memory when its
 * backend starts (see `withSharedTfjsHeap`). Read when the wasm backend initialises, so it
 * applies to a backend started after the call. `LENET_SHARED_HEAP=0` starts with it off.
 */
export function setSharedTfjsHeapEnabled(on: boolean): boolean {
  const previous = wanted;
  wanted = on;
  return previous;
}

/**
 * Runs `init` (the first `tf.setBackend('wasm')`, which instantiates tfjs-backend-wasm's module)
 * so that the module's memory is shared: its memory section rewritten to a shared one of at most
 * {@link SHARED_MAX_PAGES} pages (4 GiB, as tfjs declares) before V8 compiles it. The helper
 * threads then run their share of a kernel on tfjs's own heap, where the tensors are, instead of
 * on copies in a memory of their own (split.ts). tfjs's single-threaded build never uses the
 * memory from another thread itself, and a shared memory behaves as its own for it (growth
 * included). `WebAssembly.instantiate` is wrapped only while `init` runs, and only a module that
 * defines one memory as tfjs's does is rewritten; where the rewritten module fails to
 * instantiate, the original one is, and everything runs as before on an unshared heap.
 */
export async function withSharedTfjsHeap<T>(init: () => Promise<T>): Promise<T> {
  if (!wanted || typeof SharedArrayBuffer === 'undefined') return init();
  const original = wasmApi.instantiate;
  wasmApi.instantiate = async function instantiate(this: unknown, source: unknown, imports?: object) {
    const bytes = bufferBytes(source);
    const shared = bytes === null ? null : withSharedMemoryDefinition(bytes, SHARED_MAX_PAGES);
    if (shared !== null) {
      try {
        return await original.call(this, shared, imports);
      } catch {
        // The original module below: an unshared heap, the helpers on copies.
      }
    }
    return original.call(this, source, imports);
  };
  try {
    return await init();
  } finally {
    wasmApi.instantiate = original;
  }
}

/** A module's bytes when `source` is a buffer of them (not a compiled module). */
function bufferBytes(source: unknown): Uint8Array | null {
  if (source instanceof ArrayBuffer) return new Uint8Array(source);
  if (ArrayBuffer.isView(source)) return new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
  return null;
}
