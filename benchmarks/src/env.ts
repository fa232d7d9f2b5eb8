import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, hostname, loadavg, release, totalmem, type } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchEnvironment } from './types.js';

const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));

/** The repository root (runs/ goes there by default; the report names paths relative to it). */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The packages whose versions go into every results file. */
export const REPORTED_PACKAGES = [
  '@lenet/backend',
  '@lenet/datasets',
  '@lenet/metrics',
  '@lenet/models',
  '@lenet/onnx',
  '@lenet/train',
  '@tensorflow/tfjs-backend-cpu',
  '@tensorflow/tfjs-backend-wasm',
  '@tensorflow/tfjs-core',
  '@tensorflow/tfjs-layers',
  '@tensorflow/tfjs-node',
  '@tensorflow/tfjs-node-gpu',
  'onnxruntime-node',
  'tinybench',
] as const;

/** The version of a dependency of this package as installed (or 'not installed'). */
export function installedVersion(name: string): string {
  try {
    const pkg = JSON.parse(readFileSync(join(PACKAGE_DIR, 'node_modules', name, 'package.json'), 'utf8')) as {
      version?: string;
    };
    return pkg.version ?? 'unknown';
  } catch {
    return 'not installed';
  }
}

/** Captures the machine and software a run is measured on; backends are filled in as they are tried. */
export function captureEnvironment(): BenchEnvironment {
  const packages: Record<string, string> = {};
  for (const name of REPORTED_PACKAGES) packages[name] = installedVersion(name);
  return {
    date: new Date().toISOString(),
    hostname: hostname(),
    os: `${type()} ${release()}`,
    cpuModel: cpus()[0]?.model?.trim() || 'unknown',
    cores: availableParallelism(),
    totalMemoryMb: Math.round(totalmem() / 1024 / 1024),
    platform: `${process.platform} ${process.arch}`,
    node: process.version,
    loadAverageStart: loadavg().map((v) => Math.round(v * 100) / 100),
    packages,
    backends: {},
    onnxProviders: {},
    pytorch: 'not tried',
  };
}

/** Records the load average at the end of the run (other processes on the machine show up here). */
export function finishEnvironment(env: BenchEnvironment): void {
  env.loadAverageEnd = loadavg().map((v) => Math.round(v * 100) / 100);
}
