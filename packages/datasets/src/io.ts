import type { FileHandle } from 'node:fs/promises';
import { DatasetError } from './errors.js';

/** Reads into `into` from `position` until it is full or the file ends; returns the bytes read. */
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

/** Turns a file-system error into a {@link DatasetError} that says what was wrong in words. */
export function describeFsError(file: string, error: unknown): DatasetError {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return new DatasetError(file, 'missing: no such file', { cause: error });
  if (code === 'EISDIR') return new DatasetError(file, 'is a directory, expected a file', { cause: error });
  if (code === 'EACCES' || code === 'EPERM') {
    return new DatasetError(file, 'unreadable: permission denied', { cause: error });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new DatasetError(file, `cannot be read: ${message}`, { cause: error });
}
