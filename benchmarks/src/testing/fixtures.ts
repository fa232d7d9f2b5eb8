import { cellId } from '../cells/common.js';
import type { MnistPair } from '../data.js';
import {
  type BenchBackend,
  type BenchResult,
  type CellResult,
  type CellTask,
  RESULT_FORMAT,
  RESULT_VERSION,
} from '../types.js';

/** A measured cell for tests. */
export function okCell(
  task: CellTask,
  model: string,
  backend: BenchBackend,
  batch: number,
  samplesPerSec: number,
  rme = 2,
): CellResult {
  const mean = (batch * 1000) / samplesPerSec;
  return {
    id: cellId(task, model, backend, batch),
    task,
    model,
    backend,
    batch,
    status: 'ok',
    samplesPerSec,
    latencyMs: { mean, p50: mean * 0.95, p99: mean * 1.5 },
    rme,
    iterations: 10,
    memory: {
      rssGrowthMb: 12,
      tensorMb: 0.5,
      peakTensorMb: 3.2,
      numTensors: 40,
      leakedTensorsPerIteration: 0,
    },
  };
}

/** A small synthetic results file for tests. */
export function syntheticResult(cells: CellResult[], overrides: Partial<BenchResult> = {}): BenchResult {
  return {
    format: RESULT_FORMAT,
    version: RESULT_VERSION,
    options: {
      profile: 'quick',
      models: [...new Set(cells.map((c) => c.model))],
      backends: [...new Set(cells.map((c) => c.backend))],
      trainBatchSizes: [64],
      inferBatchSizes: [1, 64],
    },
    env: {
      date: '2025-01-01T00:00:00.000Z',
      cpuModel: 'Test CPU',
      cores: 2,
      totalMemoryMb: 8192,
      platform: 'linux x64',
      node: 'v20.0.0',
      loadAverageStart: [0.5, 0.5, 0.5],
      loadAverageEnd: [0.6, 0.5, 0.5],
      packages: { '@tensorflow/tfjs': '4.22.0' },
      backends: { wasm: 'active' },
      onnxProviders: { cpu: 'used' },
      pytorch: 'torch not installed',
    },
    cells,
    accuracy: [],
    reference: { kind: 'none', note: 'none' },
    notes: [],
    durationSec: 1,
    ...overrides,
  };
}

/** The machine fields of a results file's environment (what `--merge` names columns by). */
export interface MachineFields {
  hostname?: string;
  cpuModel: string;
  cores: number;
  date: string;
  totalMemoryMb?: number;
  os?: string;
}

/** `r` as if measured on another machine (or at another time). */
export function onMachine(r: BenchResult, m: MachineFields): BenchResult {
  return { ...r, env: { ...r.env, os: 'Linux 6.1.0-test', ...m } };
}

/** A stand-in for MNIST: `count` 28x28 grey images per split, pixel i of image n = (n + i) % 256, label n % 10. */
export function syntheticMnistPair(count: number): MnistPair {
  const split = (source: string) => ({
    images: Uint8Array.from({ length: count * 784 }, (_, k) => (Math.floor(k / 784) + (k % 784)) % 256),
    labels: Uint8Array.from({ length: count }, (_, n) => n % 10),
    count,
    height: 28,
    width: 28,
    channels: 1,
    classNames: Array.from({ length: 10 }, (_, i) => String(i)),
    source,
  });
  return { train: split('synthetic train'), test: split('synthetic test') };
}
