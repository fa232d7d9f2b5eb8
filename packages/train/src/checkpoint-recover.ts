import { rename, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { abandonedOldVersions } from '@lenet/common';

async function isDir(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Puts a checkpoint back where a writer killed between the two renames of `writeDirAtomic` left
 * it: `target` missing and its previous version beside it as `.<name>.old-<pid>-<hex>` (a whole
 * checkpoint, holding `stateFile`). Leftovers of a writer still alive are its work in progress
 * and are not touched. Returns the notice to show, or null when there was nothing to recover.
 */
export async function recoverBetweenRenames(target: string, stateFile: string): Promise<string | null> {
  const parent = dirname(target);
  if ((await isDir(target)) || !(await isDir(parent))) return null;
  const found: { name: string; mtimeMs: number }[] = [];
  for (const name of await abandonedOldVersions(target)) {
    try {
      found.push({ name, mtimeMs: (await stat(join(parent, name, stateFile))).mtimeMs });
    } catch {
      // No state file: not a whole checkpoint.
    }
  }
  if (found.length === 0) return null;
  const newest = found.sort((a, b) => b.mtimeMs - a.mtimeMs)[0].name;
  await rename(join(parent, newest), target);
  return `${target} was missing: a checkpoint write was stopped between its two renames; recovered the previous checkpoint from ${newest}`;
}
