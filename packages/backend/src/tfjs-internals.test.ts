import { describe, expect, it } from 'vitest';
import { BackendError } from './errors.js';
import * as tf from './tfjs.js';
import {
  checkLayerInternals,
  cpuBackend,
  type DropoutLayer,
  type LayerInternals,
  TESTED_TFJS_VERSION,
  wasmHeap,
} from './tfjs-internals.js';
import { useBackend } from './use-backend.js';

/** The WebAssembly global (this package compiles without the DOM lib). */
const { Memory } = (
  globalThis as unknown as {
    WebAssembly: { Memory: new (d: { initial: number }) => { buffer: ArrayBuffer } };
  }
).WebAssembly;

/** A stand-in for tfjs-backend-wasm's BackendWasm with every internal the kernels read. */
function fakeWasmBackend() {
  const memory = new Memory({ initial: 1 });
  const dataId = {};
  const wasm = {
    asm: { memory },
    HEAPU8: new Uint8Array(memory.buffer),
    _malloc: (bytes: number) => 1024 + bytes,
    _free: (_ptr: number) => {},
  };
  return { backend: { wasm, dataIdMap: new Map([[dataId, { memoryOffset: 64 }]]) }, dataId, memory };
}

/** The message names what is missing, the installed versions and the tested one. */
function expectInternalsError(run: () => unknown, missing: string): void {
  let error: unknown;
  try {
    run();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(BackendError);
  const { message } = error as BackendError;
  expect(message).toContain(missing);
  expect(message).toContain(`@tensorflow/tfjs-core ${tf.version_core}`);
  expect(message).toContain('@tensorflow/tfjs-backend-wasm 4.');
  expect(message).toContain(`tested with ${TESTED_TFJS_VERSION}`);
}

describe('wasmHeap: the tfjs-backend-wasm internals the SIMD kernels read', () => {
  it('gives typed access to memory, heap, tensor offsets and the allocator', () => {
    const { backend, dataId, memory } = fakeWasmBackend();
    const heap = wasmHeap(backend);
    expect(heap.memory).toBe(memory);
    expect(heap.buffer()).toBe(memory.buffer);
    expect(heap.offset(dataId)).toBe(64);
    expect(heap.offset({})).toBeUndefined();
    expect(heap.malloc(16)).toBe(1040);
    expect(wasmHeap(backend)).toBe(heap);
  });

  it('fails loudly, naming the tfjs version, when the Emscripten module lost asm.memory', () => {
    const { backend } = fakeWasmBackend();
    const { asm: _asm, ...withoutAsm } = backend.wasm;
    expectInternalsError(
      () => wasmHeap({ ...backend, wasm: withoutAsm }),
      'BackendWasm.wasm.asm.memory (a WebAssembly.Memory)',
    );
  });

  it('lists every missing internal at once', () => {
    expectInternalsError(
      () => wasmHeap({ wasm: {} }),
      'BackendWasm.wasm.asm.memory (a WebAssembly.Memory); BackendWasm.wasm.HEAPU8 (a Uint8Array); BackendWasm.wasm._malloc; BackendWasm.wasm._free; BackendWasm.dataIdMap.get',
    );
  });

  it('finds them on the installed tfjs-backend-wasm when useBackend switches to wasm', async () => {
    await useBackend('wasm');
    const heap = wasmHeap(tf.backend());
    const t = tf.tensor1d([1, 2, 3]);
    const offset = heap.offset(t.dataId);
    expect(offset).toBeGreaterThan(0);
    expect(Array.from(new Float32Array(heap.buffer(), offset, 3))).toEqual([1, 2, 3]);
    t.dispose();
  });
});

describe('checkLayerInternals: what the fused conv2d and Dropout patches rely on', () => {
  const installed = (): LayerInternals => ({
    fused: tf.fused,
    dropout: tf.layers.dropout({ rate: 0.5 }) as unknown as DropoutLayer,
    engine: tf.engine(),
  });

  it('passes on the installed tfjs', () => {
    const parts = installed();
    expect(checkLayerInternals(parts)).toBe(parts);
    expect(checkLayerInternals()).toBeDefined();
  });

  it('fails loudly when fused.conv2d is gone', () => {
    expectInternalsError(
      () => checkLayerInternals({ ...installed(), fused: {} as LayerInternals['fused'] }),
      'tf.fused.conv2d (a writable function)',
    );
  });

  it("fails loudly when Dropout's prototype has no call", () => {
    const { call: _call, ...rest } = installed().dropout as unknown as { call: unknown };
    const dropout = Object.assign(Object.create(null), rest) as DropoutLayer;
    expectInternalsError(
      () => checkLayerInternals({ ...installed(), dropout }),
      'tfjs-layers Dropout.prototype.call',
    );
  });

  it("fails loudly when the engine's state has no gradientDepth", () => {
    expectInternalsError(
      () =>
        checkLayerInternals({
          ...installed(),
          engine: { state: {} } as LayerInternals['engine'],
        }),
      'tf.engine().state.gradientDepth',
    );
  });
});

describe('cpuBackend: the tensor store of tfjs-backend-cpu', () => {
  it('accepts the installed cpu backend and refuses one without its data store', async () => {
    await tf.setBackend('cpu');
    expect(cpuBackend(tf.backend())).toBe(tf.backend());
    expectInternalsError(() => cpuBackend({ makeTensorInfo: () => ({}) }), 'MathBackendCPU.data.get');
  });
});
