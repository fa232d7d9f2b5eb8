import { readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { removeStaleTemps } from '@lenet/common';

/**
 * Removes what killed runs left in run directory `out` and its sub-folders: the temporary files
 * and folders of interrupted atomic writes (`.last.tmp-*`, `.last.old-*`, `.model.onnx.tmp-*`…)
 * whose writer is no longer alive. Returns their paths relative to `out`.
 */
export async function removeLeftovers(out: string): Promise<string[]> {
  const folders = [out];
  for (const entry of await readdir(out, { withFileTypes: true })) {
    if (entry.isDirectory() && !entry.name.startsWith('.')) folders.push(join(out, entry.name));
  }
  const removed: string[] = [];
  for (const folder of folders) {
    for (const name of await removeStaleTemps(folder)) removed.push(relative(out, join(folder, name)));
  }
  return removed;
}
