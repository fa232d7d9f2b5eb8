import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { SkipReason } from './errors.js';

/** The two native TensorFlow backends, both optional peer dependencies. */
export type NativeBackendName = 'tensorflow-gpu' | 'tensorflow';

/** npm package that provides each native backend. */
export const NATIVE_PACKAGES: Readonly<Record<NativeBackendName, string>> = {
  'tensorflow-gpu': '@tensorflow/tfjs-node-gpu',
  tensorflow: '@tensorflow/tfjs-node',
};

/** Outcome of probing one backend: usable, or skipped with a reason and the original detail. */
export type ProbeResult = { ok: true } | { ok: false; reason: SkipReason; detail: string };

/** What probing needs from the outside world; replaceable in tests. */
export interface ProbeEnvironment {
  /** Directory of the installed package, or null when it cannot be resolved. */
  packageDir(pkg: string): string | null;
  /** Path of the package's compiled tfjs_binding.node, or null when it was never built/downloaded. */
  bindingPath(packageDir: string): string | null;
  /** Whether a CUDA GPU is visible to this process. */
  hasCudaDevice(): boolean;
  /** Loads the package (its import registers the 'tensorflow' backend with tfjs). */
  load(pkg: string): void;
}

/** Requires resolved first next to this library (where pnpm links peers), then from the cwd. */
function requirers(): NodeRequire[] {
  return [createRequire(import.meta.url), createRequire(join(process.cwd(), 'noop.js'))];
}

function resolvePackageDir(pkg: string): string | null {
  for (const req of requirers()) {
    try {
      return dirname(req.resolve(`${pkg}/package.json`));
    } catch {
      // try the next location
    }
  }
  return null;
}

/** tfjs-node keeps its addon at lib/napi-v<N>/tfjs_binding.node (node-pre-gyp module_path). */
function findBinding(packageDir: string): string | null {
  const lib = join(packageDir, 'lib');
  if (!existsSync(lib)) return null;
  for (const entry of readdirSync(lib)) {
    const candidate = join(lib, entry, 'tfjs_binding.node');
    if (existsSync(candidate)) return candidate;
  }
  return null;
}

/** True when `nvidia-smi -L` lists a GPU, or the Linux driver exposes one under /proc. */
function detectCudaDevice(): boolean {
  try {
    const out = execFileSync('nvidia-smi', ['-L'], { encoding: 'utf8', timeout: 5000, stdio: 'pipe' });
    if (/\bGPU \d+/.test(out)) return true;
  } catch {
    // no nvidia-smi, or it failed: fall through to the driver check
  }
  try {
    return readdirSync('/proc/driver/nvidia/gpus').length > 0;
  } catch {
    return false;
  }
}

function loadPackage(pkg: string): void {
  let lastError: unknown;
  for (const req of requirers()) {
    try {
      req(pkg);
      return;
    } catch (err) {
      lastError = err;
      if (!isModuleNotFound(err, pkg)) throw err;
    }
  }
  throw lastError;
}

function isModuleNotFound(err: unknown, pkg: string): boolean {
  const e = err as { code?: unknown; message?: unknown };
  return e?.code === 'MODULE_NOT_FOUND' && typeof e.message === 'string' && e.message.includes(`'${pkg}'`);
}

/** The real environment: node resolution, the file system, nvidia-smi. */
export const defaultProbeEnvironment: ProbeEnvironment = {
  packageDir: resolvePackageDir,
  bindingPath: findBinding,
  hasCudaDevice: detectCudaDevice,
  load: loadPackage,
};

/**
 * Sorts an error thrown while loading a tfjs-node package into a documented reason:
 * the package itself not found → 'not installed'; its addon missing or unloadable
 * (tfjs_binding.node, libtensorflow) → 'native binary missing'; CUDA/cuDNN libraries not
 * loadable → 'no CUDA device'; anything else → 'failed to initialise'.
 */
export function classifyLoadError(err: unknown, pkg: string): SkipReason {
  const message = err instanceof Error ? err.message : String(err);
  if (isModuleNotFound(err, pkg)) return 'not installed';
  if (/libcu(?:dart|dnn|blas|fft|rand|solver|sparse|da\.so)/i.test(message) || /\bCUDA\b/.test(message)) {
    return 'no CUDA device';
  }
  if (/tfjs_binding|libtensorflow|native addon|\.node\b|ERR_DLOPEN_FAILED/i.test(message)) {
    return 'native binary missing';
  }
  return 'failed to initialise';
}

/**
 * Checks, without loading anything it does not have to, whether a native backend can be used:
 * package resolvable → addon present → (GPU build only) a CUDA device visible → package loads.
 * Loading registers the 'tensorflow' backend with tfjs and makes it the active one.
 */
export function probeNative(
  name: NativeBackendName,
  env: ProbeEnvironment = defaultProbeEnvironment,
  options: { load: boolean } = { load: true },
): ProbeResult {
  const pkg = NATIVE_PACKAGES[name];
  const dir = env.packageDir(pkg);
  if (dir === null) return { ok: false, reason: 'not installed', detail: `${pkg} cannot be resolved` };
  if (env.bindingPath(dir) === null) {
    return {
      ok: false,
      reason: 'native binary missing',
      detail: `${pkg} is installed at ${dir} but its tfjs_binding.node was not built or downloaded (npm rebuild ${pkg})`,
    };
  }
  if (name === 'tensorflow-gpu' && !env.hasCudaDevice()) {
    return {
      ok: false,
      reason: 'no CUDA device',
      detail: 'nvidia-smi lists no GPU and /proc/driver/nvidia has none',
    };
  }
  if (!options.load) return { ok: true };
  try {
    env.load(pkg);
    return { ok: true };
  } catch (err) {
    return {
      ok: false,
      reason: classifyLoadError(err, pkg),
      detail: err instanceof Error ? err.message.split('\n')[0] : String(err),
    };
  }
}
