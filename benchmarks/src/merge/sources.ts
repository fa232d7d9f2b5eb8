import { isAbsolute, relative, sep } from 'node:path';

/**
 * How a merged report names its input files without an absolute path of this machine: a file
 * under `cwd` by its path relative to it, any other by its last path segments, as many as it
 * takes to tell it from the others (`bench-a/results.json`, `bench-b/results.json`).
 */
export function sourceNames(files: readonly string[], cwd: string): string[] {
  const inside = files.map((f) => {
    const rel = relative(cwd, f);
    return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : undefined;
  });
  const segments = files.map((f) => f.split(sep).filter((s) => s !== ''));
  const tail = (i: number, k: number): string => segments[i].slice(-k).join('/');
  const names = files.map((_, i) => inside[i] ?? tail(i, 1));
  const longest = Math.max(...segments.map((s) => s.length));
  for (let k = 2; k <= longest; k++) {
    const clash = names.map((n) => names.filter((m) => m === n).length > 1);
    if (!clash.some(Boolean)) break;
    names.forEach((_, i) => {
      if (clash[i] && inside[i] === undefined) names[i] = tail(i, k);
    });
  }
  return names;
}
