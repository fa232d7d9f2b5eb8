// Helpers for the tests: tiny generated files in a temporary folder. Not exported by the package.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

/** Makes a temporary folder; call the returned function to remove it. */
export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'lenet-datasets-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** IDX bytes of unsigned-byte data with these dimensions (data defaults to i % 251). */
export function idxBytes(dims: number[], data?: Uint8Array, type = 0x08): Uint8Array {
  const size = dims.reduce((a, b) => a * b, 1);
  const payload = data ?? Uint8Array.from({ length: size }, (_, i) => i % 251);
  const out = new Uint8Array(4 + 4 * dims.length + payload.length);
  const view = new DataView(out.buffer);
  out[2] = type;
  out[3] = dims.length;
  dims.forEach((d, i) => {
    view.setUint32(4 + 4 * i, d, false);
  });
  out.set(payload, 4 + 4 * dims.length);
  return out;
}

/** Writes bytes to `dir/name`, gzip-compressed when `gzip`; returns the path. */
export async function put(dir: string, name: string, bytes: Uint8Array, gzip = false): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, gzip ? gzipSync(bytes) : bytes);
  return path;
}
