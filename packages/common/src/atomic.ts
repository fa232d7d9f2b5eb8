import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { isProcessAlive } from './process.js';

/** The temporary name beside `target`: `.<name>.<tag>-<pid>-<random>`, hidden and unique. */
function tempName(target: string, tag: 'tmp' | 'old'): string {
  return join(
    dirname(target),
    `.${basename(target)}.${tag}-${process.pid}-${randomBytes(4).toString('hex')}`,
  );
}

/**
 * What {@link writeFileAtomic} writes: text, bytes, or a list of byte parts written one after
 * another (so a large file need not be copied into one buffer first).
 */
export type AtomicFileData = string | Uint8Array | readonly Uint8Array[];

/**
 * Writes `data` to `file` atomically: to a temporary file in the same folder, flushed to disk
 * (fsync), then renamed over `file`. On any failure the temporary file is removed and `file` is
 * left as it was, so a reader never sees a half-written file.
 */
export async function writeFileAtomic(file: string, data: AtomicFileData): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const tmp = tempName(file, 'tmp');
  try {
    const handle = await open(tmp, 'w');
    try {
      // A handle's writeFile writes from the current position, so the parts follow each other.
      for (const part of typeof data === 'string' || data instanceof Uint8Array ? [data] : data) {
        await handle.writeFile(part);
      }
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, file);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
}

/** {@link writeFileAtomic} for synchronous callers. */
export function writeFileAtomicSync(file: string, data: string | Uint8Array): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = tempName(file, 'tmp');
  try {
    const fd = openSync(tmp, 'w');
    try {
      writeFileSync(fd, data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  } catch (error) {
    rmSync(tmp, { force: true });
    throw error;
  }
}

/**
 * Writes a whole folder atomically: `fill` writes into a fresh temporary sibling folder, which then
 * replaces `dir` by rename. Until the final rename the old folder is untouched; a crash in the
 * instant between the two renames leaves the previous version beside it as `.<name>.old-*`
 * (see {@link staleTempEntries}).
 */
export async function writeDirAtomic(dir: string, fill: (tmpDir: string) => Promise<void>): Promise<void> {
  await mkdir(dirname(dir), { recursive: true });
  const tmp = tempName(dir, 'tmp');
  await mkdir(tmp);
  try {
    await fill(tmp);
  } catch (error) {
    await rm(tmp, { recursive: true, force: true });
    throw error;
  }
  const old = tempName(dir, 'old');
  let moved = false;
  try {
    await rename(dir, old);
    moved = true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      await rm(tmp, { recursive: true, force: true });
      throw error;
    }
  }
  try {
    await rename(tmp, dir);
  } catch (error) {
    // Put the previous version back rather than leave no folder at all.
    if (moved) await rename(old, dir).catch(() => undefined);
    await rm(tmp, { recursive: true, force: true });
    throw error;
  }
  if (moved) await rm(old, { recursive: true, force: true });
}

/** `.<name>.<tmp|old>-<pid>-<8 hex>`: the names {@link tempName} gives. */
const TEMP_ENTRY = /^\.(.+)\.(tmp|old)-(\d+)-[0-9a-f]{8}$/;

/** Names in `folder` that {@link writeFileAtomic} / {@link writeDirAtomic} leave behind when killed. */
export async function staleTempEntries(folder: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(folder);
  } catch {
    return [];
  }
  return names.filter((n) => TEMP_ENTRY.test(n));
}

/**
 * Removes the {@link staleTempEntries} of `folder` whose writing process is no longer alive on this
 * machine (a live writer's temp files are its work in progress); returns the names removed.
 */
export async function removeStaleTemps(folder: string): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await staleTempEntries(folder)) {
    const pid = Number(TEMP_ENTRY.exec(name)?.[3]);
    if (isProcessAlive(pid)) continue;
    await rm(join(folder, name), { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}

/**
 * The previous versions of `dir` that {@link writeDirAtomic} moved aside (`.<name>.old-*`, beside
 * it) and whose writer is no longer alive: what a writer killed between its two renames left
 * instead of `dir`. Names only, in the parent folder.
 */
export async function abandonedOldVersions(dir: string): Promise<string[]> {
  const name = basename(dir);
  return (await staleTempEntries(dirname(dir))).filter((entry) => {
    const m = TEMP_ENTRY.exec(entry);
    return m !== null && m[1] === name && m[2] === 'old' && !isProcessAlive(Number(m[3]));
  });
}
