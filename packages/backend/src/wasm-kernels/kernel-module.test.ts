import { describe, expect, it } from 'vitest';
import {
  kernelBuild,
  kernelModuleBytes,
  relaxedSimdAvailable,
  relaxedSimdEnabled,
  SHARED_MAX_PAGES,
  setRelaxedSimdEnabled,
} from './kernel-module.js';
import { wasmSections, withSharedMemoryImport } from './wasm-binary.js';

/** The part of the WebAssembly global used here (this package compiles without the DOM lib). */
interface WasmTestApi {
  Module: {
    new (bytes: Uint8Array): object;
    imports(m: object): { module: string; name: string; kind: string }[];
  };
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
  Memory: new (descriptor: { initial: number; maximum?: number; shared?: boolean }) => object;
}
const wasmApi = (globalThis as unknown as { WebAssembly: WasmTestApi }).WebAssembly;

const instantiates = (bytes: Uint8Array, shared: boolean): boolean => {
  const memory = new wasmApi.Memory({ initial: 16, maximum: SHARED_MAX_PAGES, shared });
  try {
    new wasmApi.Instance(new wasmApi.Module(bytes), { env: { memory } });
    return true;
  } catch {
    return false;
  }
};

describe('the kernels module builds', () => {
  // LENET_RELAXED_SIMD=0 starts the process on the plain build, without turning V8's flag on.
  it.skipIf(process.env.LENET_RELAXED_SIMD === '0')(
    'run the relaxed-SIMD build by default where the runtime has relaxed SIMD (Node 20 and later)',
    () => {
      expect(Number(process.versions.node.split('.')[0])).toBeGreaterThanOrEqual(20);
      expect(relaxedSimdAvailable()).toBe(true);
      expect(relaxedSimdEnabled()).toBe(true);
      const previous = setRelaxedSimdEnabled(false);
      try {
        expect(kernelBuild()).toBe(0);
        expect(relaxedSimdEnabled()).toBe(false);
        setRelaxedSimdEnabled(true);
        expect(kernelBuild()).toBe(1);
      } finally {
        setRelaxedSimdEnabled(previous);
      }
    },
  );

  for (const build of [0, 1] as const) {
    it(`build ${build}: imports one memory, unshared for tfjs's heap and shared for the helper threads`, () => {
      const plain = kernelModuleBytes(build, false);
      const shared = kernelModuleBytes(build, true);
      expect(wasmApi.Module.imports(new wasmApi.Module(plain))).toEqual([
        { module: 'env', name: 'memory', kind: 'memory' },
      ]);
      expect(instantiates(plain, false)).toBe(true);
      expect(instantiates(plain, true)).toBe(false);
      expect(instantiates(shared, true)).toBe(true);
      expect(instantiates(shared, false)).toBe(false);
      // Only the import section differs: every other section is byte for byte the same.
      const a = wasmSections(plain);
      const b = wasmSections(shared);
      expect(b.map((s) => s.id)).toEqual(a.map((s) => s.id));
      a.forEach((s, i) => {
        if (s.id === 2) return;
        const t = b[i];
        expect(
          Buffer.from(shared.subarray(t.start, t.start + t.size)).equals(
            plain.subarray(s.start, s.start + s.size),
          ),
        ).toBe(true);
      });
      // 02 (memory) 03 (shared, with a maximum) 02 (min pages) 80 80 04 (65536 pages).
      const imports = b.find((s) => s.id === 2);
      expect(
        Buffer.from(shared.subarray(imports?.start, (imports?.start ?? 0) + (imports?.size ?? 0))).toString(
          'hex',
        ),
      ).toBe(`0103656e76066d656d6f7279020302808004`);
    });
  }

  it('refuse a binary whose imports are not all memories, or that is cut short', () => {
    const plain = kernelModuleBytes(0, false);
    const imports = wasmSections(plain).find((s) => s.id === 2);
    if (imports === undefined) throw new Error('no import section');
    const table = Uint8Array.from(plain);
    table[imports.start + 1 + 4 + 7] = 1; // the import's kind byte: a table
    expect(() => withSharedMemoryImport(table, SHARED_MAX_PAGES)).toThrow(
      /an import of kind 1, not a memory/,
    );
    expect(() => wasmSections(plain.subarray(0, plain.length - 1))).toThrow(/runs past the end/);
  });
});
