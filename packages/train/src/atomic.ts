import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

function tempName(target: string, tag: string): string {
  return join(
    dirname(target),
    `.${basename(target)}.${tag}-${process.pid}-${randomBytes(4).toString('hex')}`,
  );
}

/** Writes `data` to `file` atomically: to a temporary name in the same directory, then a rename. */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const tmp = tempName(file, 'tmp');
  try {
    await writeFile(tmp, data);
    await rename(tmp, file);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
}

/**
 * Writes a whole directory atomically: `fill` writes into a fresh temporary sibling directory,
 * which then replaces `dir` by rename. Until the final rename the old directory is untouched; a
 * crash in the instant between the two renames leaves the previous version beside it as
 * `.<name>.old-*`.
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
    // Put the previous version back rather than leave no directory at all.
    if (moved) await rename(old, dir).catch(() => undefined);
    await rm(tmp, { recursive: true, force: true });
    throw error;
  }
  if (moved) await rm(old, { recursive: true, force: true });
}
