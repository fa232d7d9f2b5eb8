// Editing a wasm binary's import and memory sections. No imports of its own: scripts/build-simd.mjs loads the
// built copy to check the derivation against clang's own shared-memory build.

/** Reads an unsigned LEB128 at `at`: [value, bytes read]. */
function readU32(bytes: Uint8Array, at: number): [number, number] {
  let value = 0;
  let shift = 0;
  let i = at;
  for (;;) {
    const byte = bytes[i++];
    if (byte === undefined || shift > 28) throw new Error(`wasm module: malformed LEB128 at byte ${at}`);
    value += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) return [value, i - at];
    shift += 7;
  }
}

function writeU32(value: number): number[] {
  const out: number[] = [];
  let v = value;
  do {
    const byte = v & 0x7f;
    v = Math.floor(v / 128);
    out.push(v === 0 ? byte : byte | 0x80);
  } while (v !== 0);
  return out;
}

/** One section of a wasm binary: its id and where its contents lie (past the id and size). */
export interface WasmSection {
  id: number;
  /** Byte offset of the section's id. */
  at: number;
  /** Byte offset of its contents. */
  start: number;
  /** Bytes of contents. */
  size: number;
}

/** The sections of a wasm binary, in order. */
export function wasmSections(bytes: Uint8Array): WasmSection[] {
  const sections: WasmSection[] = [];
  let at = 8; // magic and version
  while (at < bytes.length) {
    const [size, sizeLen] = readU32(bytes, at + 1);
    const start = at + 1 + sizeLen;
    sections.push({ id: bytes[at] ?? 0, at, start, size });
    at = start + size;
  }
  if (at !== bytes.length) throw new Error('wasm module: the last section runs past the end');
  return sections;
}

/**
 * `bytes` with every imported memory made shared with `maxPages` pages at most (the limits flag 3:
 * shared, with a maximum). Only the import section changes; its size is re-encoded. Throws on an
 * import other than a memory (the kernels import nothing else).
 */
export function withSharedMemoryImport(bytes: Uint8Array, maxPages: number): Uint8Array {
  const section = wasmSections(bytes).find((s) => s.id === 2);
  if (section === undefined) throw new Error('wasm module: no import section');
  const { start, size } = section;
  const out: number[] = [];
  let p = start;
  const [count, countLen] = readU32(bytes, p);
  out.push(...bytes.subarray(p, p + countLen));
  p += countLen;
  for (let i = 0; i < count; i++) {
    // module name, field name: each a length and its bytes
    for (let n = 0; n < 2; n++) {
      const [len, lenLen] = readU32(bytes, p);
      out.push(...bytes.subarray(p, p + lenLen + len));
      p += lenLen + len;
    }
    const kind = bytes[p++] ?? -1;
    if (kind !== 2) throw new Error(`wasm module: an import of kind ${kind}, not a memory`);
    const flags = bytes[p++] ?? -1;
    const [min, minLen] = readU32(bytes, p);
    p += minLen;
    if (flags & 1) p += readU32(bytes, p)[1];
    out.push(kind, 3, ...writeU32(min), ...writeU32(maxPages));
  }
  if (p !== start + size) throw new Error('wasm module: import section size mismatch');
  return withSection(bytes, section, out);
}

/**
 * `bytes` with its one defined memory made shared with `maxPages` pages at most, or null when the
 * module does not define exactly one memory with a maximum of at least `maxPages` (its initial
 * size must fit too). Only the memory section changes; its size is re-encoded.
 */
export function withSharedMemoryDefinition(bytes: Uint8Array, maxPages: number): Uint8Array | null {
  const section = wasmSections(bytes).find((s) => s.id === 5);
  if (section === undefined) return null;
  const { start, size } = section;
  let p = start;
  const [count, countLen] = readU32(bytes, p);
  p += countLen;
  const flags = bytes[p++];
  if (count !== 1 || flags !== 1) return null;
  const [min, minLen] = readU32(bytes, p);
  p += minLen;
  const [max, maxLen] = readU32(bytes, p);
  p += maxLen;
  if (p !== start + size || max < maxPages || min > maxPages) return null;
  return withSection(bytes, section, [1, 3, ...writeU32(min), ...writeU32(maxPages)]);
}

/** `bytes` with `section`'s contents replaced by `contents` (its size re-encoded). */
function withSection(bytes: Uint8Array, section: WasmSection, contents: number[]): Uint8Array {
  const { id, at, start, size } = section;
  const encoded = [id, ...writeU32(contents.length), ...contents];
  const result = new Uint8Array(bytes.length - (start + size - at) + encoded.length);
  result.set(bytes.subarray(0, at), 0);
  result.set(encoded, at);
  result.set(bytes.subarray(start + size), at + encoded.length);
  return result;
}
