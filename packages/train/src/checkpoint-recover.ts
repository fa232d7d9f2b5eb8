import { readdir, rename, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { isProcessAlive } from '@lenet/common';

/** `.<name>.old-<pid>-<8 hex>`: the previous version `writeDirAtomic` moves aside before its second rename. */
function oldVersions(name: string): RegExp {
  return new RegExp(`^\\.${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.old-(\\d+)-[0-9a-f]{8}$`);
}

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
  const pattern = oldVersions(basename(target));
  const found: { name: string; mtimeMs: number }[] = [];
  for (const name of await readdir(parent)) {
    const match = pattern.exec(name);
    if (!match || isProcessAlive(Number(match[1]))) continue;
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
