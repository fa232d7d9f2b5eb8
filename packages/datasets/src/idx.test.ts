import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatasetError } from './errors.js';
import { parseIdx, readIdx } from './idx.js';
import { idxBytes, put, tempDir } from './testing/fixtures.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterAll(() => cleanup());

async function expectError(promise: Promise<unknown>, file: string, pattern: RegExp): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DatasetError);
  expect((error as DatasetError).file).toBe(file);
  expect((error as DatasetError).message).toContain(file);
  expect((error as DatasetError).message).toMatch(pattern);
}

describe('readIdx', () => {
  it('reads a plain rank-3 file', async () => {
    const bytes = idxBytes([3, 4, 5]);
    const file = await put(dir, 'plain-idx3', bytes);
    const idx = await readIdx(file);
    expect(idx.dims).toEqual([3, 4, 5]);
    expect(idx.gzip).toBe(false);
    expect(idx.data.length).toBe(60);
    expect(Array.from(idx.data.subarray(0, 5))).toEqual([0, 1, 2, 3, 4]);
    expect(idx.data[59]).toBe(59);
  });

  it('detects gzip by magic bytes, not by name', async () => {
    const bytes = idxBytes([300, 28, 28]);
    const gz = await put(dir, 'looks-plain-idx3-ubyte', bytes, true);
    const plainNamedGz = await put(dir, 'looks-gzipped-idx3-ubyte.gz', bytes);
    const a = await readIdx(gz);
    const b = await readIdx(plainNamedGz);
    expect(a.gzip).toBe(true);
    expect(b.gzip).toBe(false);
    expect(a.dims).toEqual([300, 28, 28]);
    expect(Buffer.from(a.data).equals(Buffer.from(b.data))).toBe(true);
    expect(Buffer.from(a.data).equals(Buffer.from(bytes.subarray(16)))).toBe(true);
  });

  it('enforces an expected rank', async () => {
    const file = await put(dir, 'rank1', idxBytes([7]));
    await expectError(readIdx(file, { rank: 3 }), file, /IDX rank is 1, expected 3/);
  });

  it('rejects a missing file', async () => {
    const file = join(dir, 'nope-idx3-ubyte');
    await expectError(readIdx(file), file, /missing: no such file/);
  });

  it('rejects a wrong magic number', async () => {
    const bytes = idxBytes([2, 2, 2]);
    bytes[0] = 0x50; // "PK…", e.g. a zip file
    bytes[1] = 0x4b;
    const file = await put(dir, 'zip-idx3', bytes);
    await expectError(readIdx(file), file, /wrong magic number 0x504b0803: not an IDX file/);
  });

  it('rejects an unsupported data type', async () => {
    const file = await put(dir, 'float-idx', idxBytes([2, 2], new Uint8Array(4), 0x0d));
    await expectError(readIdx(file), file, /unsupported IDX data type 0x0d \(float32\)/);
  });

  it('rejects an invalid rank', async () => {
    const bytes = idxBytes([2]);
    bytes[3] = 0;
    const file = await put(dir, 'rank0', bytes);
    await expectError(readIdx(file), file, /invalid IDX rank 0/);
  });

  it('rejects a truncated header', async () => {
    const file = await put(dir, 'short-header', idxBytes([5, 28, 28]).subarray(0, 10));
    await expectError(readIdx(file), file, /truncated: 10 bytes, shorter than the 16-byte IDX header/);
  });

  it('rejects a truncated file', async () => {
    const file = await put(dir, 'truncated', idxBytes([10, 28, 28]).subarray(0, 16 + 5000));
    await expectError(
      readIdx(file),
      file,
      /truncated: header claims 10×28×28 = 7840 bytes of data, file holds only 5000/,
    );
  });

  it('rejects a header claiming more data than the cap, before allocating', async () => {
    const bytes = idxBytes([1, 28, 28]);
    new DataView(bytes.buffer).setUint32(4, 0xffffffff, false);
    const file = await put(dir, 'huge-claim', bytes);
    await expectError(
      readIdx(file),
      file,
      /header claims 4294967295×28×28 = 3367254359280 bytes, more than the 1073741824-byte limit/,
    );
    const small = await put(dir, 'over-small-cap', idxBytes([10, 10]));
    await expectError(readIdx(small, { maxBytes: 99 }), small, /more than the 99-byte limit/);
  });

  it('rejects a header claiming more data than the file holds (one image too many)', async () => {
    const bytes = idxBytes([4, 3, 3]);
    new DataView(bytes.buffer).setUint32(4, 5, false);
    const file = await put(dir, 'count-plus-one', bytes);
    await expectError(readIdx(file), file, /header claims 5×3×3 = 45 bytes of data, file holds only 36/);
  });

  it('rejects trailing bytes after the data', async () => {
    const bytes = idxBytes([4, 3, 3]);
    const longer = new Uint8Array(bytes.length + 3);
    longer.set(bytes);
    const file = await put(dir, 'trailing', longer);
    await expectError(readIdx(file), file, /file holds 39 \(trailing bytes\)/);
    const gz = await put(dir, 'trailing-gz', longer, true);
    await expectError(readIdx(gz), gz, /decompressed file holds more \(trailing bytes\)/);
  });

  it('rejects a truncated gzip stream and gzip data shorter than its header says', async () => {
    const compressed = gzipSync(idxBytes([20, 28, 28]));
    const cut = await put(dir, 'cut.gz', compressed.subarray(0, compressed.length - 40));
    await expectError(readIdx(cut), cut, /corrupt or truncated gzip stream/);
    const short = await put(dir, 'short.gz', idxBytes([20, 28, 28]).subarray(0, 16 + 100), true);
    await expectError(
      readIdx(short),
      short,
      /truncated: header claims 20×28×28 = 15680 bytes of data, file holds only 100/,
    );
  });

  it('rejects a directory', async () => {
    await expectError(readIdx(dir), dir, /is a directory/);
  });
});

describe('parseIdx', () => {
  it('parses in-memory bytes as a view', async () => {
    const bytes = idxBytes([2, 3]);
    const idx = parseIdx(bytes, 'mem');
    expect(idx.dims).toEqual([2, 3]);
    expect(idx.data.buffer).toBe(bytes.buffer);
    expect(() => parseIdx(gzipSync(bytes), 'mem.gz')).toThrow(/mem.gz: is gzip-compressed/);
    const file = await put(dir, 'roundtrip', bytes);
    expect(Array.from(parseIdx(await readFile(file), file).data)).toEqual([0, 1, 2, 3, 4, 5]);
  });
});
