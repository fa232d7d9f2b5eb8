import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { writeFileAtomic } from '@lenet/common';
import { DatasetError } from './errors.js';
import { readDataFile } from './io.js';
import type { Labels } from './types.js';

/**
 * On-disk cache of a decoded image folder: one binary file per (root, decode options), made of
 * an 8-byte magic, a little-endian uint32 header length, a JSON header, the labels and the pixels.
 * The header stores a key hashed from every file's path, size and mtime plus the decode options;
 * a different key on the next load means the folder changed and it is decoded again.
 */

const MAGIC = Buffer.from('LENETDS\u0001', 'latin1');
const FORMAT_VERSION = 1;

/** What the cache stores besides pixels and labels. */
export interface FolderCacheHeader {
  key: string;
  count: number;
  height: number;
  width: number;
  channels: number;
  classNames: string[];
  labelBytes: 1 | 2;
  files: string[];
  skipped: { file: string; reason: string }[];
  emptyClasses: string[];
}

/** A decoded folder as read back from the cache. */
export interface FolderCacheEntry {
  header: FolderCacheHeader;
  images: Uint8Array;
  labels: Labels;
}

/** SHA-256 hex of a JSON-serialisable value: the cache key of a folder's file set and options. */
export function folderCacheKey(value: unknown): string {
  return createHash('sha256')
    .update(JSON.stringify({ version: FORMAT_VERSION, value }))
    .digest('hex');
}

/** The cache file for one folder root and decode-option set inside `cacheDir`. */
export function folderCachePath(cacheDir: string, root: string, options: unknown): string {
  const id = folderCacheKey({ root, options }).slice(0, 20);
  return join(cacheDir, `folder-${id}.lenetds`);
}

/** Reads a cache file; returns `undefined` when it is missing, unreadable, malformed or has another key. */
export async function readFolderCache(path: string, key: string): Promise<FolderCacheEntry | undefined> {
  let bytes: Buffer;
  try {
    // A regular file only: anything else at the cache path is treated as no cache (and replaced).
    bytes = await readDataFile(path);
  } catch {
    return undefined;
  }
  if (bytes.length < MAGIC.length + 4 || !bytes.subarray(0, MAGIC.length).equals(MAGIC)) return undefined;
  const headerLength = bytes.readUInt32LE(MAGIC.length);
  const headerStart = MAGIC.length + 4;
  if (headerStart + headerLength > bytes.length) return undefined;
  let header: FolderCacheHeader;
  try {
    header = JSON.parse(bytes.toString('utf8', headerStart, headerStart + headerLength)) as FolderCacheHeader;
  } catch {
    return undefined;
  }
  if (header.key !== key) return undefined;
  const labelStart = headerStart + headerLength;
  const labelLength = header.count * header.labelBytes;
  const pixelStart = labelStart + labelLength;
  const pixelLength = header.count * header.height * header.width * header.channels;
  if (pixelStart + pixelLength !== bytes.length) return undefined;
  const labelCopy = bytes.buffer.slice(bytes.byteOffset + labelStart, bytes.byteOffset + pixelStart);
  const labels = header.labelBytes === 1 ? new Uint8Array(labelCopy) : new Uint16Array(labelCopy);
  const images = new Uint8Array(bytes.buffer, bytes.byteOffset + pixelStart, pixelLength);
  return { header, images, labels };
}

/** Writes a cache file atomically (temporary file in the same folder, fsync, then rename). */
export async function writeFolderCache(
  path: string,
  header: FolderCacheHeader,
  labels: Labels,
  images: Uint8Array,
): Promise<void> {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32LE(json.length, 0);
  const labelBytes = new Uint8Array(labels.buffer, labels.byteOffset, labels.byteLength);
  try {
    await writeFileAtomic(path, [MAGIC, length, json, labelBytes, images]);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new DatasetError(path, `cannot write the image-folder cache: ${message}`, { cause: error });
  }
}
