import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';

/**
 * Opening data files safely: only regular files are read, and a size limit is checked against
 * the file's length before a byte is read. A FIFO, a device (`/dev/zero`, `/dev/stdin`) or a
 * socket named as a data file would otherwise block the open or never end.
 */

/** Makes the package's own error (`DatasetError`, `SpecError`, …) for a file that cannot be read. */
export type FileErrorFactory = (reason: string, cause?: unknown) => Error;

/** Options of {@link openRegularFile} and {@link readRegularFile}. */
export interface RegularFileOptions {
  /** Largest file accepted, in bytes; checked against the file's length before reading. */
  maxBytes?: number;
  /** The option that raises `maxBytes`, named in the message (default `maxBytes`). */
  maxBytesOption?: string;
}

/** An open regular file and its length. */
export interface OpenRegularFile {
  handle: FileHandle;
  size: number;
}

// O_NONBLOCK makes opening a FIFO return at once instead of waiting for a writer; it changes
// nothing for a regular file. Windows has no such flag (and no FIFOs in the file system).
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);

/** What kind of thing `stats` describes, in words, for a message. */
function kindOf(stats: Stats): string {
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFIFO()) return 'a FIFO (named pipe)';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  if (stats.isSocket()) return 'a socket';
  return 'not a regular file';
}

/** The reason to give for a file-system error, in words (`missing: no such file`, …). */
export function fileErrorReason(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return 'missing: no such file';
  if (code === 'EISDIR') return 'is a directory, expected a file';
  if (code === 'EACCES' || code === 'EPERM') return 'unreadable: permission denied';
  if (code === 'ENOTDIR') return 'missing: a part of the path is not a folder';
  if (code === 'ELOOP') return 'unreadable: too many levels of symbolic links';
  const message = error instanceof Error ? error.message : String(error);
  return `cannot be read: ${message}`;
}

function checkStats(stats: Stats, options: RegularFileOptions, fail: FileErrorFactory): number {
  if (stats.isDirectory()) throw fail('is a directory, expected a file');
  if (!stats.isFile()) {
    throw fail(`is ${kindOf(stats)}, not a regular file: only regular files are read as data`);
  }
  const { maxBytes } = options;
  if (maxBytes !== undefined && stats.size > maxBytes) {
    throw fail(
      `is ${stats.size} bytes, more than the ${maxBytes}-byte limit (raise it with the ${options.maxBytesOption ?? 'maxBytes'} option)`,
    );
  }
  return stats.size;
}

/**
 * Opens `path` for reading if it is a regular file within `maxBytes`; otherwise throws the error
 * `fail` makes, with the reason in words. The caller closes the handle.
 */
export async function openRegularFile(
  path: string,
  fail: FileErrorFactory,
  options: RegularFileOptions = {},
): Promise<OpenRegularFile> {
  let handle: FileHandle;
  try {
    handle = await open(path, OPEN_FLAGS);
  } catch (error) {
    throw fail(fileErrorReason(error), error);
  }
  try {
    return { handle, size: checkStats(await handle.stat(), options, fail) };
  } catch (error) {
    await handle.close();
    throw error;
  }
}

/** Reads `into` from `position` until it is full or the file ends; returns the bytes read. */
export async function readFully(handle: FileHandle, into: Uint8Array, position: number): Promise<number> {
  let done = 0;
  while (done < into.length) {
    // One read is capped (2 GiB by libuv); loop until full or end of file.
    const { bytesRead } = await handle.read(
      into,
      done,
      Math.min(into.length - done, 1 << 30),
      position + done,
    );
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done;
}

/**
 * The whole of a regular file of at most `maxBytes`, read after checking what it is and how long
 * it is. Throws the error `fail` makes for a missing, unreadable, non-regular or too large file.
 */
export async function readRegularFile(
  path: string,
  fail: FileErrorFactory,
  options: RegularFileOptions = {},
): Promise<Buffer> {
  const { handle, size } = await openRegularFile(path, fail, options);
  try {
    const bytes = Buffer.allocUnsafe(size);
    const got = await readFully(handle, bytes, 0);
    return bytes.subarray(0, got);
  } catch (error) {
    throw fail(fileErrorReason(error), error);
  } finally {
    await handle.close();
  }
}

/** {@link readRegularFile} for synchronous callers. */
export function readRegularFileSync(
  path: string,
  fail: FileErrorFactory,
  options: RegularFileOptions = {},
): Buffer {
  let fd: number;
  try {
    fd = openSync(path, OPEN_FLAGS);
  } catch (error) {
    throw fail(fileErrorReason(error), error);
  }
  try {
    const size = checkStats(fstatSync(fd), options, fail);
    const bytes = Buffer.allocUnsafe(size);
    let done = 0;
    try {
      while (done < size) {
        const n = readSync(fd, bytes, done, Math.min(size - done, 1 << 30), done);
        if (n === 0) break;
        done += n;
      }
    } catch (error) {
      throw fail(fileErrorReason(error), error);
    }
    return bytes.subarray(0, done);
  } finally {
    closeSync(fd);
  }
}
