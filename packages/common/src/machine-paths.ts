/**
 * Keeps machine paths out of reports (benchmarks, studies): what backends, probes and failed jobs
 * say (error messages naming where a package is installed, which Python and BLAS were found, which
 * data file could not be read) is rewritten so that the report reads the same on every machine.
 */

/** A file in pnpm's package store: `…/node_modules/.pnpm/<name>@<version>_<peers>/node_modules/<name>[/rest]`. */
const PNPM_STORE =
  /(?:\/[^\s/]+)*\/node_modules\/\.pnpm\/([^\s/]+?)@(\d[^_\s/]*)[^\s/]*\/node_modules\/(?:@[^\s/]+\/)?[^\s/]+((?:\/[^\s/,;:()`'"]+)*)/g;
/** A file in a plain `node_modules`: `…/node_modules/<name>[/rest]`. */
const NODE_MODULES = /(?:\/[^\s/]+)*\/node_modules\/((?:@[^\s/]+\/)?[^\s/,;:()`'"]+(?:\/[^\s/,;:()`'"]+)*)/g;
/** Any other absolute POSIX path of two segments or more (not part of a URL or a word like `MB/s`). */
const ABSOLUTE = /(?<![\w.~:/-])\/(?:[^\s/,;:()`'"|]+\/)+[^\s/,;:()`'"|]+/g;

/**
 * Rewrites every absolute path in `text`: package-store paths become `name@version` (with the
 * file inside the package, if any), other `node_modules` paths the package-relative path, paths
 * inside `root` the path relative to it, and any other path its last segment.
 */
export function withoutMachinePaths(text: string, root?: string): string {
  const base = root?.replace(/\/+$/, '');
  return text
    .replace(PNPM_STORE, (_m, name: string, version: string, rest: string) => {
      return `${name.replace('+', '/')}@${version}${rest}`;
    })
    .replace(NODE_MODULES, (_m, inside: string) => inside)
    .replace(ABSOLUTE, (path) => {
      if (base && path.startsWith(`${base}/`)) return path.slice(base.length + 1);
      return path.slice(path.lastIndexOf('/') + 1);
    });
}

/** Whether `text` still holds an absolute POSIX path (what the report's tests look for). */
export function hasMachinePath(text: string): boolean {
  return new RegExp(ABSOLUTE.source).test(text);
}
