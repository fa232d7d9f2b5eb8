import {
  type FileErrorFactory,
  fileErrorReason,
  type OpenRegularFile,
  openRegularFile,
  type RegularFileOptions,
  readRegularFile,
} from '@lenet/common';
import { DatasetError } from './errors.js';

/** Makes {@link DatasetError}s about `file`. */
export function datasetFail(file: string): FileErrorFactory {
  return (reason, cause) => new DatasetError(file, reason, cause === undefined ? undefined : { cause });
}

/** Turns a file-system error into a {@link DatasetError} that says what was wrong in words. */
export function describeFsError(file: string, error: unknown): DatasetError {
  return new DatasetError(file, fileErrorReason(error), { cause: error });
}

/**
 * Opens a data file for reading: a regular file only (a FIFO or device is refused at once, never
 * waited on), within `maxBytes` when given. Throws a {@link DatasetError} naming the file.
 */
export function openDataFile(file: string, options: RegularFileOptions = {}): Promise<OpenRegularFile> {
  return openRegularFile(file, datasetFail(file), options);
}

/** Reads a whole (small) data file such as a class-name list; regular files only. */
export function readDataFile(file: string, options: RegularFileOptions = {}): Promise<Buffer> {
  return readRegularFile(file, datasetFail(file), options);
}
