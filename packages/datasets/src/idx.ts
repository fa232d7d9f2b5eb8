import type { FileHandle } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import { readFully } from '@lenet/common';
import { DatasetError } from './errors.js';
import { describeFsError, openDataFile } from './io.js';
import { checkReadIdxOptions } from './options.js';

/**
 * Reader for IDX files, the format of MNIST, Fashion-MNIST, KMNIST and EMNIST: a 4-byte magic
 * number (two zero bytes, a data-type byte, a rank byte), `rank` big-endian uint32 dimensions,
 * then the data. Only unsigned bytes (type 0x08) are decoded, which is all the MNIST family uses.
 */

/** A decoded IDX array of unsigned bytes. */
export interface IdxArray {
  /** Dimensions from the header, e.g. `[60000, 28, 28]`. */
  dims: number[];
  /** The payload after the header, `dims` multiplied together bytes long. */
  data: Uint8Array;
  /** The file it came from. */
  file: string;
  /** Whether the file was gzip-compressed. */
  gzip: boolean;
}

/** Limits on what an IDX header may claim, checked before anything is allocated. */
export interface ReadIdxOptions {
  /** Largest payload accepted, in bytes. Default {@link IDX_DEFAULT_MAX_BYTES} (1 GiB). */
  maxBytes?: number;
  /** Require this rank (number of dimensions); e.g. 3 for images, 1 for labels. */
  rank?: number;
}

/** Default cap on an IDX payload: 1 GiB, above the largest EMNIST split (EMNIST ByClass train, ~547 MB). */
export const IDX_DEFAULT_MAX_BYTES = 1024 * 1024 * 1024;
const MAX_RANK = 8;
const GZIP_MAGIC_0 = 0x1f;
const GZIP_MAGIC_1 = 0x8b;

const TYPE_NAMES: Record<number, string> = {
  8: 'unsigned byte',
  9: 'signed byte',
  11: 'int16',
  12: 'int32',
  13: 'float32',
  14: 'float64',
};

interface IdxHeader {
  dims: number[];
  headerBytes: number;
  dataBytes: number;
}

function hex(bytes: Uint8Array, n: number): string {
  return `0x${Array.from(bytes.subarray(0, n), (b) => b.toString(16).padStart(2, '0')).join('')}`;
}

/**
 * Validates an IDX header. `head` may be shorter than the full header only when `complete` is
 * false; the function then returns `undefined` if it needs more bytes.
 */
function parseHeader(
  head: Uint8Array,
  file: string,
  options: ReadIdxOptions,
  complete: boolean,
): IdxHeader | undefined {
  const maxBytes = options.maxBytes ?? IDX_DEFAULT_MAX_BYTES;
  if (head.length < 4) {
    if (!complete) return undefined;
    throw new DatasetError(file, `truncated: ${head.length} bytes, shorter than the 4-byte IDX magic number`);
  }
  if (head[0] !== 0 || head[1] !== 0) {
    throw new DatasetError(
      file,
      `wrong magic number ${hex(head, 4)}: not an IDX file (expected 0x0000 followed by a type byte and a rank byte)`,
    );
  }
  const type = head[2];
  if (type !== 0x08) {
    const known = TYPE_NAMES[type];
    throw new DatasetError(
      file,
      known
        ? `unsupported IDX data type 0x${type.toString(16).padStart(2, '0')} (${known}): only 0x08 (unsigned byte) is supported`
        : `wrong magic number ${hex(head, 4)}: unknown IDX data type 0x${type.toString(16).padStart(2, '0')}`,
    );
  }
  const rank = head[3];
  if (rank < 1 || rank > MAX_RANK) {
    throw new DatasetError(file, `invalid IDX rank ${rank}: expected 1 to ${MAX_RANK} dimensions`);
  }
  if (options.rank !== undefined && rank !== options.rank) {
    throw new DatasetError(file, `IDX rank is ${rank}, expected ${options.rank}`);
  }
  const headerBytes = 4 + 4 * rank;
  if (head.length < headerBytes) {
    if (!complete) return undefined;
    throw new DatasetError(
      file,
      `truncated: ${head.length} bytes, shorter than the ${headerBytes}-byte IDX header of rank ${rank}`,
    );
  }
  const view = new DataView(head.buffer, head.byteOffset, headerBytes);
  const dims: number[] = [];
  let dataBytes = 1;
  for (let i = 0; i < rank; i++) {
    const d = view.getUint32(4 + 4 * i, false);
    if (d === 0) throw new DatasetError(file, `IDX dimension ${i} is zero`);
    dims.push(d);
    dataBytes *= d;
  }
  if (dataBytes > maxBytes) {
    throw new DatasetError(
      file,
      `header claims ${dims.join('×')} = ${dataBytes} bytes, more than the ${maxBytes}-byte limit (maxBytes)`,
    );
  }
  return { dims, headerBytes, dataBytes };
}

function lengthError(file: string, header: IdxHeader, have: number): DatasetError {
  const claim = `${header.dims.join('×')} = ${header.dataBytes} bytes of data`;
  return have < header.dataBytes
    ? new DatasetError(file, `truncated: header claims ${claim}, file holds only ${have}`)
    : new DatasetError(file, `header claims ${claim}, but the file holds ${have} (trailing bytes)`);
}

/** Parses an IDX file already in memory (plain, not gzip). The result's `data` is a view into `bytes`. */
export function parseIdx(bytes: Uint8Array, file: string, options: ReadIdxOptions = {}): IdxArray {
  checkReadIdxOptions(options);
  if (bytes.length >= 2 && bytes[0] === GZIP_MAGIC_0 && bytes[1] === GZIP_MAGIC_1) {
    throw new DatasetError(file, 'is gzip-compressed: use readIdx, which decompresses it');
  }
  const header = parseHeader(bytes, file, options, true)!;
  const have = bytes.length - header.headerBytes;
  if (have !== header.dataBytes) throw lengthError(file, header, have);
  return {
    dims: header.dims,
    data: bytes.subarray(header.headerBytes, header.headerBytes + header.dataBytes),
    file,
    gzip: false,
  };
}

async function readPlain(
  file: string,
  handle: FileHandle,
  size: number,
  options: ReadIdxOptions,
): Promise<IdxArray> {
  const head = new Uint8Array(Math.min(size, 4 + 4 * MAX_RANK));
  await readFully(handle, head, 0);
  const header = parseHeader(head, file, options, true)!;
  const have = size - header.headerBytes;
  if (have !== header.dataBytes) throw lengthError(file, header, have);
  const data = new Uint8Array(header.dataBytes);
  const got = await readFully(handle, data, header.headerBytes);
  if (got !== data.length) throw lengthError(file, header, got);
  return { dims: header.dims, data, file, gzip: false };
}

async function readGzip(file: string, handle: FileHandle, options: ReadIdxOptions): Promise<IdxArray> {
  const gunzip = createGunzip({ chunkSize: 1 << 20 });
  // From the handle already opened (and checked to be a regular file), not by name again.
  const source = handle.createReadStream({ start: 0, autoClose: false });
  source.on('error', (error) => gunzip.destroy(error));
  source.pipe(gunzip);
  let head = new Uint8Array(0);
  let header: IdxHeader | undefined;
  let data: Uint8Array | undefined;
  let filled = 0;
  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      let bytes: Uint8Array = chunk;
      if (!header) {
        const joined = new Uint8Array(head.length + bytes.length);
        joined.set(head);
        joined.set(bytes, head.length);
        header = parseHeader(joined, file, options, false);
        if (!header) {
          head = joined;
          continue;
        }
        data = new Uint8Array(header.dataBytes);
        bytes = joined.subarray(header.headerBytes);
      }
      if (filled + bytes.length > data!.length) {
        throw new DatasetError(
          file,
          `header claims ${header.dims.join('×')} = ${header.dataBytes} bytes of data, but the decompressed file holds more (trailing bytes)`,
        );
      }
      data!.set(bytes, filled);
      filled += bytes.length;
    }
  } catch (error) {
    if (error instanceof DatasetError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR') throw describeFsError(file, error);
    const message = error instanceof Error ? error.message : String(error);
    throw new DatasetError(file, `corrupt or truncated gzip stream: ${message}`, { cause: error });
  } finally {
    source.destroy();
    gunzip.destroy();
  }
  if (!header) {
    parseHeader(head, file, options, true);
    throw new DatasetError(file, 'truncated IDX header');
  }
  if (filled !== header.dataBytes) throw lengthError(file, header, filled);
  return { dims: header.dims, data: data!, file, gzip: true };
}

/**
 * Reads an IDX file, plain or gzip-compressed (detected by the magic bytes `1f 8b`, not by the
 * name). The header is validated — magic number, data type, rank, dimensions, the size cap and
 * the file's length — before the payload is allocated. Throws {@link DatasetError} naming the file.
 */
export async function readIdx(file: string, options: ReadIdxOptions = {}): Promise<IdxArray> {
  checkReadIdxOptions(options);
  const { handle, size } = await openDataFile(file);
  try {
    const magic = new Uint8Array(Math.min(size, 2));
    await readFully(handle, magic, 0);
    if (magic.length === 2 && magic[0] === GZIP_MAGIC_0 && magic[1] === GZIP_MAGIC_1) {
      return await readGzip(file, handle, options);
    }
    return await readPlain(file, handle, size, options);
  } finally {
    await handle.close();
  }
}
