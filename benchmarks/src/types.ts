import type { DatasetBenchRow } from './datasets-bench.js';
import type { OnnxBenchReport } from './onnx-bench.js';

/** The shapes of a benchmark run's results (the JSON file) and of its cells. */

/** Format tag and version written into every results file; `--compare` refuses anything else. */
export const RESULT_FORMAT = 'lenet-bench-results';
export const RESULT_VERSION = 1;

/** TensorFlow.js backends, as `@lenet/backend` names them. */
export const TFJS_BACKENDS = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type TfjsBackend = (typeof TFJS_BACKENDS)[number];
/**
 * Data-parallel training through `@lenet/train`'s `fit(..., { workers: 2 })` on the wasm backend
 * (the main thread plus one worker thread, each stepping half of every batch): training only,
 * measured in epochs of `fit`, not in tinybench steps, so it has its own table.
 */
export const PARALLEL_BACKEND = 'wasm-2w';
/** Worker count of the {@link PARALLEL_BACKEND} column (N counts the main thread). */
export const PARALLEL_WORKERS = 2;
/**
 * The baseline of {@link PARALLEL_BACKEND}: the same `fit` epochs on wasm with one worker (the
 * main thread alone), so that the two columns of the `fit` table share one method.
 */
export const FIT_BASELINE_BACKEND = 'wasm-1w';
/** Columns measured in epochs of `fit`, validation included (the `fit` table), with their worker counts. */
export const FIT_BACKENDS = { 'wasm-1w': 1, 'wasm-2w': PARALLEL_WORKERS } as const;
export type FitBackend = keyof typeof FIT_BACKENDS;
/** onnxruntime-node execution providers. */
export const ORT_BACKENDS = ['ort-cuda', 'ort-cpu'] as const;
export type OrtBackend = (typeof ORT_BACKENDS)[number];
/** The PyTorch reference column (CPU). */
export const PYTORCH_BACKEND = 'pytorch-cpu';
/** Every column the harness knows, in table order. */
export const ALL_BACKENDS = [
  ...TFJS_BACKENDS,
  FIT_BASELINE_BACKEND,
  PARALLEL_BACKEND,
  ...ORT_BACKENDS,
  PYTORCH_BACKEND,
] as const;
export type BenchBackend = (typeof ALL_BACKENDS)[number];

export type CellTask = 'train' | 'infer';
export type CellStatus = 'ok' | 'skipped' | 'failed';

/** Latency statistics of one cell in milliseconds per iteration (one batch). */
export interface Latency {
  mean: number;
  p50: number;
  p99: number;
}

/**
 * What a cell itself allocated, measured across the cell (not the whole process's high-water
 * mark, which only grows over a run).
 */
export interface CellMemory {
  /**
   * Highest resident set size sampled during the cell minus the RSS when it started, MiB. A lower
   * bound: memory that earlier cells grew and freed (the wasm heap never shrinks) is reused first.
   */
  rssGrowthMb: number;
  /** Tensor bytes the cell still held after its timed iterations (weights, optimizer state), MiB. */
  tensorMb?: number;
  /** Highest tensor bytes during one profiled iteration (`tf.profile`'s peak), above the cell's start, MiB. */
  peakTensorMb?: number;
  /** Tensors the cell held at most between iterations (model + optimizer state included). */
  numTensors?: number;
  /** Tensors left behind per iteration (0 when the step disposes everything it makes). */
  leakedTensorsPerIteration?: number;
}

/** One measured (or skipped) cell of the matrix: task x model x backend x batch size. */
export interface CellResult {
  /** `task/model/backend/b<batch>`: the key `--compare` matches cells by. */
  id: string;
  task: CellTask;
  model: string;
  backend: BenchBackend;
  batch: number;
  status: CellStatus;
  /** Why the cell was skipped or failed. */
  reason?: string;
  /** Samples (images) per second: batch x 1000 / mean latency. */
  samplesPerSec?: number;
  latencyMs?: Latency;
  /**
   * Relative margin of the mean, percent: tinybench's 95 % margin of error, or for the `fit`
   * columns ({@link FIT_BACKENDS}) half the range of the measured epochs.
   */
  rme?: number;
  /** Timed iterations (tinybench samples). */
  iterations?: number;
  memory?: CellMemory;
  /** Anything worth knowing about how it ran (threads, SIMD, provider actually used). */
  note?: string;
  /** onnxruntime cells: the intra-op threads of the run kept (the faster of those measured). */
  threads?: number;
  /** Set when the cell was timed in rounds interleaved with PyTorch's same cell. */
  paired?: PairedRatio;
}

/**
 * A cell's ratio to PyTorch measured pairwise: the cell and PyTorch's same cell timed in turns,
 * round after round, so that each ratio compares two measurements seconds apart.
 */
export interface PairedRatio {
  against: typeof PYTORCH_BACKEND;
  /** samples/s of the cell ÷ PyTorch's (its faster thread count) in the same round, per round. */
  ratios: number[];
  /** The median of `ratios`: the ratio the tables and the summary show for the cell. */
  median: number;
}

/** Test accuracy of one variant after its training budget, through TensorFlow.js and through ONNX. */
export interface AccuracyResult {
  model: string;
  status: CellStatus;
  reason?: string;
  /** What it was trained on: samples per epoch, epochs, batch size, backend. */
  budget?: { trainSamples: number; epochs: number; batch: number; backend: string; seconds: number };
  /** Test images evaluated (the real MNIST test set, or its first N in the quick profile). */
  testSamples?: number;
  tfjsAccuracy?: number;
  onnxAccuracy?: number;
  /** Fraction of test images where the two predicted classes differ. */
  disagreement?: number;
  /** Largest absolute difference between the two probability outputs. */
  maxAbsDiff?: number;
  onnxProvider?: string;
}

/** A published reference figure used when PyTorch is not installed. */
export interface PublishedReference {
  model: string;
  task: CellTask;
  batch: number;
  samplesPerSec: number;
  source: string;
}

/**
 * The environment a run was measured in. `--merge` names each column by the machine it describes
 * (hostname, CPU, cores, memory, OS, Node, the backends with measured cells, `date`).
 */
export interface BenchEnvironment {
  /** When the run started (ISO 8601, UTC). */
  date: string;
  /** The machine's hostname (absent in files written before `--merge` existed). */
  hostname?: string;
  /** Operating system and kernel release, e.g. `Linux 6.1.0-18-amd64` (absent in older files). */
  os?: string;
  cpuModel: string;
  cores: number;
  totalMemoryMb: number;
  platform: string;
  node: string;
  loadAverageStart: number[];
  loadAverageEnd?: number[];
  /** name → version of every package that matters. */
  packages: Record<string, string>;
  /** Per backend: what `useBackend` reported (threads, SIMD, kernels) or why it was skipped. */
  backends: Record<string, string>;
  /** ONNX execution providers: used, or why not. */
  onnxProviders: Record<string, string>;
  /** The PyTorch reference: version and threads, or why it is absent. */
  pytorch: string;
}

/** Options the run was made with (after the profile filled in defaults). */
export interface RunOptions {
  profile: 'quick' | 'full';
  models: string[];
  backends: BenchBackend[];
  trainBatchSizes: number[];
  inferBatchSizes: number[];
}

/** A suite written by another helper, run as part of the harness: its rows, or why it did not run. */
export type ExtraSuite<T> =
  | { status: 'ok'; machine: string; result: T }
  | { status: 'skipped' | 'failed'; reason: string };

/** A whole results file. */
export interface BenchResult {
  format: typeof RESULT_FORMAT;
  version: typeof RESULT_VERSION;
  options: RunOptions;
  env: BenchEnvironment;
  cells: CellResult[];
  accuracy: AccuracyResult[];
  /** Where the ratio column comes from. */
  reference: { kind: 'measured' | 'published' | 'none'; note: string; published?: PublishedReference[] };
  /** The extra suites: `datasets-bench` (loading, batching, decoding) and `onnx-bench` (threads). */
  extras?: {
    datasets?: ExtraSuite<DatasetBenchRow[]>;
    onnxThreads?: ExtraSuite<OnnxBenchReport>;
  };
  notes: string[];
  durationSec: number;
}
