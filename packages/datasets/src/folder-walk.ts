import type { Dirent } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import { extname, join, sep } from 'node:path';
import { DatasetError } from './errors.js';

/**
 * Walking an image folder `root/<class>/**\/*.<ext>` the way torchvision's `ImageFolder` does:
 * classes are the non-hidden sub-folders sorted by code point (or as given), files are found in
 * sorted order at any depth, symlinks are followed only while they stay inside the root.
 */

/** A file that was left out, and why. */
export interface SkippedFile {
  file: string;
  reason: string;
}

/** An image file found, with what the cache key needs of it. */
export interface Candidate {
  path: string;
  label: number;
  size: number;
  mtimeMs: number;
}

/** What a walk found: the classes in label order, the image files, the refused links. */
export interface Listing {
  classNames: string[];
  candidates: Candidate[];
  refused: SkippedFile[];
}

/** Code-point order (what Python's `sorted` gives), independent of the locale. */
export function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function isInside(realRoot: string, real: string): boolean {
  return real === realRoot || real.startsWith(realRoot.endsWith(sep) ? realRoot : realRoot + sep);
}

async function readDirSorted(dir: string): Promise<Dirent[]> {
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    return entries.sort((a, b) => byCodePoint(a.name, b.name));
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new DatasetError(dir, `folder cannot be read: ${message}`, { cause: error });
  }
}

/** Resolves a symlink; `undefined` plus a refusal when it is broken or leads outside the root. */
async function followLink(
  path: string,
  realRoot: string,
  refused: SkippedFile[],
): Promise<string | undefined> {
  let real: string;
  try {
    real = await realpath(path);
  } catch {
    refused.push({ file: path, reason: 'broken symlink: its target does not exist' });
    return undefined;
  }
  if (!isInside(realRoot, real)) {
    refused.push({ file: path, reason: `symlink leads outside the root folder (to ${real}); refused` });
    return undefined;
  }
  return real;
}

async function walkClass(
  dir: string,
  label: number,
  realRoot: string,
  extensions: Set<string>,
  visited: Set<string>,
  listing: Listing,
): Promise<void> {
  for (const entry of await readDirSorted(dir)) {
    if (entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    const isImageName = extensions.has(extname(entry.name).slice(1).toLowerCase());
    let target = path;
    let isDir = entry.isDirectory();
    let isFile = entry.isFile();
    if (entry.isSymbolicLink()) {
      const info = await stat(path).catch(() => undefined);
      if (info === undefined) {
        if (isImageName)
          listing.refused.push({ file: path, reason: 'broken symlink: its target does not exist' });
        continue;
      }
      if (!info.isDirectory() && !isImageName) continue; // not something that would be loaded
      const real = await followLink(path, realRoot, listing.refused);
      if (real === undefined) continue;
      target = real;
      isDir = info.isDirectory();
      isFile = info.isFile();
    }
    if (isDir) {
      const real = await realpath(target);
      if (visited.has(real)) continue; // a symlink loop inside the root
      visited.add(real);
      await walkClass(path, label, realRoot, extensions, visited, listing);
    } else if (isFile && isImageName) {
      const info = await stat(target);
      listing.candidates.push({ path, label, size: info.size, mtimeMs: info.mtimeMs });
    } else if (isImageName) {
      // A FIFO, socket or device with an image's name: decoding it would block or never end.
      listing.refused.push({
        file: path,
        reason: 'is not a regular file (a FIFO, socket or device); refused',
      });
    }
  }
}

/**
 * Lists `root`'s classes (`classes` when given, each checked to have a folder) and, below each,
 * the files whose extension is in `extensions`. Throws a {@link DatasetError} for a missing or
 * unreadable root, duplicate or missing classes, no classes, or more than 65536.
 */
export async function listFolder(
  root: string,
  classes: readonly string[] | undefined,
  extensions: readonly string[],
): Promise<Listing> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(root);
  } catch {
    throw new DatasetError(root, 'missing: no such folder');
  }
  if (!info.isDirectory()) throw new DatasetError(root, 'is not a folder (expected root/<class>/<image>)');
  const realRoot = await realpath(root);
  const listing: Listing = { classNames: [], candidates: [], refused: [] };
  const classDirs = new Map<string, string>();
  for (const entry of await readDirSorted(root)) {
    if (entry.name.startsWith('.')) continue;
    const path = join(root, entry.name);
    if (entry.isDirectory()) classDirs.set(entry.name, path);
    else if (entry.isSymbolicLink() && (await stat(path).catch(() => undefined))?.isDirectory()) {
      if ((await followLink(path, realRoot, listing.refused)) !== undefined) classDirs.set(entry.name, path);
    }
  }
  if (classes) {
    const seen = new Set<string>();
    for (const name of classes) {
      if (seen.has(name)) throw new DatasetError(root, `class '${name}' is listed twice in classes`);
      seen.add(name);
      if (!classDirs.has(name)) {
        throw new DatasetError(join(root, name), `missing: class '${name}' from classes has no folder`);
      }
    }
    listing.classNames = [...classes];
  } else {
    listing.classNames = [...classDirs.keys()];
  }
  if (listing.classNames.length === 0) {
    throw new DatasetError(
      root,
      'no classes: the folder has no class sub-folders (expected root/<class>/<image>)',
    );
  }
  if (listing.classNames.length > 65536) {
    throw new DatasetError(root, `too many classes (${listing.classNames.length}); at most 65536`);
  }
  const wanted = new Set(extensions.map((e) => e.toLowerCase()));
  for (const [label, name] of listing.classNames.entries()) {
    const dir = classDirs.get(name)!;
    await walkClass(dir, label, realRoot, wanted, new Set([await realpath(dir)]), listing);
  }
  return listing;
}
