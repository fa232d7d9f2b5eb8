import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { kernelModuleBytes, SHARED_MAX_PAGES } from './kernel-module.js';
import { setSharedTfjsHeapEnabled, withSharedTfjsHeap } from './shared-heap.js';
import { wasmSections, withSharedMemoryDefinition } from './wasm-binary.js';

/** The WebAssembly global's part used here (this package compiles without the DOM lib). */
interface WasmGlobal {
  instantiate(bytes: Uint8Array, imports?: object): Promise<unknown>;
  validate(bytes: Uint8Array): boolean;
  LinkError: new (message: string) => Error;
}
const wasm = (globalThis as unknown as { WebAssembly: WasmGlobal }).WebAssembly;

const MAGIC = [0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0];
const MEMORY_EXPORT = [7, 10, 1, 6, ...Buffer.from('memory'), 2, 0];

/** A module that defines one memory with these limit bytes (flags, min, [max]) and exports it. */
function memoryModule(limits: number[]): Uint8Array {
  return Uint8Array.from([...MAGIC, 5, limits.length + 1, 1, ...limits, ...MEMORY_EXPORT]);
}

/** 1 page, at most 65 536 (tfjs's 4 GiB), as tfjs-backend-wasm declares its memory. */
const TFJS_LIKE = memoryModule([1, 1, 0x80, 0x80, 0x04]);

function memorySection(bytes: Uint8Array): number[] {
  const s = wasmSections(bytes).find((x) => x.id === 5);
  if (s === undefined) throw new Error('no memory section');
  return [...bytes.subarray(s.start, s.start + s.size)];
}

interface Instantiated {
  instance: { exports: { memory: { buffer: ArrayBufferLike } } };
}
const instantiate = (bytes: Uint8Array) => wasm.instantiate(bytes) as Promise<Instantiated>;

describe('withSharedMemoryDefinition', () => {
  it("rewrites tfjs-backend-wasm's own module to a shared memory of at most 4 GiB (as tfjs declares), nothing else changed", () => {
    const require = createRequire(import.meta.url);
    const dir = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
    const bytes = new Uint8Array(readFileSync(join(dir, 'dist', 'tfjs-backend-wasm-simd.wasm')));
    const shared = withSharedMemoryDefinition(bytes, SHARED_MAX_PAGES);
    if (shared === null) throw new Error('not rewritten');
    // One memory, shared with a maximum (flags 3), tfjs's initial pages, then 65 536 pages.
    expect(memorySection(shared)).toEqual([1, 3, ...memorySection(bytes).slice(2, -3), 0x80, 0x80, 0x04]);
    const sections = (b: Uint8Array) => wasmSections(b).map((s) => [s.id, s.size]);
    expect(sections(shared)).toEqual(sections(bytes));
    expect(wasm.validate(shared)).toBe(true);
  });

  it('gives a module whose memory is a SharedArrayBuffer, and refuses what does not look like tfjs', async () => {
    const shared = withSharedMemoryDefinition(TFJS_LIKE, SHARED_MAX_PAGES);
    if (shared === null) throw new Error('not rewritten');
    const { instance } = await instantiate(shared);
    expect(instance.exports.memory.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(instance.exports.memory.buffer.byteLength).toBe(65536);
    // No memory section (the kernels import theirs), no maximum, a maximum under 4 GiB, two memories.
    expect(withSharedMemoryDefinition(kernelModuleBytes(0, false), SHARED_MAX_PAGES)).toBeNull();
    expect(withSharedMemoryDefinition(memoryModule([0, 1]), SHARED_MAX_PAGES)).toBeNull();
    expect(withSharedMemoryDefinition(memoryModule([1, 1, 0x80, 0x10]), SHARED_MAX_PAGES)).toBeNull();
    const two = Uint8Array.from([...MAGIC, 5, 7, 2, 1, 1, 2, 1, 1, 2]);
    expect(withSharedMemoryDefinition(two, SHARED_MAX_PAGES)).toBeNull();
  });
});

describe('withSharedTfjsHeap', () => {
  const original = wasm.instantiate;
  afterEach(() => {
    wasm.instantiate = original;
    setSharedTfjsHeapEnabled(true);
  });

  it('shares the memory of a module instantiated while init runs, and restores wasm.instantiate after', async () => {
    const { instance } = await withSharedTfjsHeap(() => instantiate(TFJS_LIKE));
    expect(instance.exports.memory.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(wasm.instantiate).toBe(original);
    await expect(withSharedTfjsHeap(() => Promise.reject(new Error('init failed')))).rejects.toThrow(
      'init failed',
    );
    expect(wasm.instantiate).toBe(original);
    // Outside init, and with the switch off, modules are left as they are.
    expect((await instantiate(TFJS_LIKE)).instance.exports.memory.buffer).toBeInstanceOf(ArrayBuffer);
    setSharedTfjsHeapEnabled(false);
    const off = await withSharedTfjsHeap(() => instantiate(TFJS_LIKE));
    expect(off.instance.exports.memory.buffer).toBeInstanceOf(ArrayBuffer);
  });

  it('instantiates the original module where the shared one fails', async () => {
    const refused: Uint8Array[] = [];
    // A runtime that cannot instantiate a shared memory.
    wasm.instantiate = (bytes: Uint8Array, imports?: object) => {
      if (memorySection(bytes)[1] === 3) {
        refused.push(bytes);
        return Promise.reject(new wasm.LinkError('no shared memory here'));
      }
      return original(bytes, imports);
    };
    const stub = wasm.instantiate;
    const { instance } = await withSharedTfjsHeap(() => instantiate(TFJS_LIKE));
    expect(refused).toHaveLength(1);
    expect(instance.exports.memory.buffer).toBeInstanceOf(ArrayBuffer);
    expect(wasm.instantiate).toBe(stub);
  });
});
