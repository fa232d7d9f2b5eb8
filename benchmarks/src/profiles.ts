import type { BenchBackend } from './types.js';

/** How long a cell is measured: tinybench's minimum iterations, time budget and warm-up. */
export interface Timing {
  /** Minimum timed iterations. */
  iterations: number;
  /** Time budget per cell, milliseconds (tinybench keeps going until both limits are met). */
  timeMs: number;
  /** Untimed iterations first (JIT, kernel compilation, allocator warm-up). */
  warmupIterations: number;
  /**
   * Untimed time first, ms, on top of `warmupIterations` (warm-up runs until both are met):
   * V8 optimises tfjs's JavaScript and tiers the wasm kernels up only after many calls, so a
   * training step reaches its steady-state speed after ~1–2 s, not after one call.
   */
  warmupTimeMs?: number;
}

/**
 * Budget of the training cells measured in `fit` epochs (`wasm-1w`, `wasm-2w`): `fit` runs `warmupEpochs` warm-up epochs and
 * `measuredEpochs` timed epochs, each of `batchesPerEpoch` batches of real MNIST images.
 */
export interface ParallelBudget {
  batchesPerEpoch: number;
  measuredEpochs: number;
  /** Untimed epochs first (worker start-up, JIT and wasm tier-up in every thread); default 1. */
  warmupEpochs?: number;
  /** The variants measured (undefined = every variant of the run). */
  models?: string[];
}

/**
 * Validation images per training image of a `fit` cell: the CLI's default recipe holds out 10 % of
 * the training set, so 1 image is validated for every 9 trained on.
 */
export const VALIDATION_PER_TRAINING_IMAGE = 1 / 9;

/** The fixed training budget of the accuracy cells. */
export interface AccuracyBudget {
  /** First N images of the MNIST training set (60,000 = all). */
  trainSamples: number;
  epochs: number;
  batch: number;
  /** First N images of the MNIST test set (10,000 = all). */
  testSamples: number;
}

/** A per-model override: heavy variants get fewer batch sizes, or no accuracy cell, in a profile. */
export interface ModelOverride {
  trainBatchSizes?: number[];
  inferBatchSizes?: number[];
  /** Accuracy budget for this model, or a reason to skip its accuracy cell. */
  accuracy?: AccuracyBudget | { skip: string };
  /** Backends this model is not run on in this profile, with the reason. */
  skipBackends?: Partial<Record<BenchBackend, string>>;
  /** Its own `fit` budget: fewer batches for a heavy variant, more for one whose epoch would last milliseconds. */
  parallel?: Pick<ParallelBudget, 'batchesPerEpoch' | 'measuredEpochs' | 'warmupEpochs'>;
  /** Fewer iterations for a heavy variant (a training step of seconds), per kind of cell. */
  timing?: Partial<Record<'train' | 'infer' | 'pytorch', Timing>>;
}

/** One benchmark profile. */
export interface Profile {
  name: 'quick' | 'full';
  models: string[];
  backends: BenchBackend[];
  trainBatchSizes: number[];
  inferBatchSizes: number[];
  train: Timing;
  infer: Timing;
  pytorch: Timing;
  /**
   * Rounds in which the first TensorFlow.js backend's train and infer cells alternate with
   * PyTorch's same cell (each side a share of its timing per round); 1 (the default) times the
   * two columns apart, each in one go.
   */
  pairedRounds?: number;
  accuracy: AccuracyBudget;
  parallel: ParallelBudget;
  overrides: Record<string, ModelOverride>;
  /** Backends this profile does not run on, with the reason shown in the table. */
  skipBackends: Partial<Record<BenchBackend, string>>;
  /** Time per task of the extra suites (datasets-bench, onnx-bench), milliseconds. */
  extrasTimeMs: number;
  /** Slower timing for some backends (tfjs cpu: a conv-net step takes seconds). */
  backendTiming: Partial<Record<BenchBackend, Partial<Record<'train' | 'infer', Timing>>>>;
}

/**
 * The model variants of the matrix: classic LeNet-5 (and its relu/max-pool form), the BN+dropout
 * 3 conv + 3 FC net, its ablations, the Keras baseline family, the VGG-style CIFAR-10 net, report
 * 001's 256x256x3 image-folder net and report 003's two-layer net: every `@lenet/models` preset.
 * `torch-bn-nodropout` is made here from `torch-bn` by removing its dropout layers.
 */
export const VARIANTS = [
  'lenet5-classic',
  'lenet5',
  'torch-bn',
  'torch-nobn',
  'torch-bn-nodropout',
  'torch-2conv3fc',
  'torch-2conv2fc',
  'keras-baseline',
  'keras-bn',
  'keras-shallow',
  'keras-deep',
  'vgg-cifar10',
  'folder-lenet50',
  'mlp2',
] as const;

const DEFAULT_BACKENDS: BenchBackend[] = [
  'tensorflow-gpu',
  'tensorflow',
  'wasm',
  'cpu',
  'wasm-1w',
  'wasm-2w',
  'ort-cuda',
  'ort-cpu',
  'pytorch-cpu',
];

const VGG_SLOW =
  'vgg-cifar10 trains at about 10-15 samples/s on wasm on 2 cores: 6,000 images would take 7-10 minutes';

/**
 * Why `folder-lenet50` has no accuracy cell: it is timed on MNIST digits padded to 256x256x3
 * (there is no copy of report 001's 50-class image folder here), and a 50-class net scored on
 * 10-class digits measures nothing the report asked.
 */
const FOLDER_NO_ACCURACY =
  "timed on MNIST digits padded to 256x256x3, not on report 001's 50-class images (not on this machine): an accuracy on them would answer nothing the report asks";

/**
 * The tfjs cpu backend on `folder-lenet50`: measured on the development machine (2 cores, load
 * average ~3), one training step at batch 4 took 81 s and the next 140 s, so the full profile's
 * batch-16 and batch-32 cells (a warm-up step and five timed ones each) would take hours.
 */
const CPU_TOO_SLOW_FOLDER =
  'the tfjs cpu backend takes 80-140 s for one batch-4 training step of this 256x256x3 net on 2 cores (measured); run it alone with --models folder-lenet50 --backends cpu';

/** `pnpm bench`: every variant, fewer iterations, a small accuracy budget; < 10 min on 2 cores. */
export const QUICK: Profile = {
  name: 'quick',
  models: [...VARIANTS],
  backends: DEFAULT_BACKENDS,
  trainBatchSizes: [64, 256],
  inferBatchSizes: [1, 64, 256],
  train: { iterations: 3, timeMs: 1000, warmupIterations: 1, warmupTimeMs: 1500 },
  infer: { iterations: 5, timeMs: 400, warmupIterations: 2, warmupTimeMs: 200 },
  pytorch: { iterations: 3, timeMs: 500, warmupIterations: 1 },
  pairedRounds: 3,
  accuracy: { trainSamples: 6000, epochs: 1, batch: 64, testSamples: 10000 },
  parallel: {
    batchesPerEpoch: 10,
    warmupEpochs: 3,
    measuredEpochs: 3,
    models: ['lenet5-classic', 'lenet5', 'torch-bn', 'folder-lenet50', 'mlp2'],
  },
  overrides: {
    'vgg-cifar10': {
      trainBatchSizes: [64],
      inferBatchSizes: [1, 64],
      accuracy: { skip: `quick profile (${VGG_SLOW}; run --profile full)` },
    },
    // One step is ~0.5 s on wasm and ~4 s in PyTorch at batch 16 (2 cores): batch 16 only.
    'folder-lenet50': {
      trainBatchSizes: [16],
      inferBatchSizes: [1, 16],
      accuracy: { skip: FOLDER_NO_ACCURACY },
      parallel: { batchesPerEpoch: 2, warmupEpochs: 1, measuredEpochs: 2 },
    },
  },
  extrasTimeMs: 300,
  backendTiming: {},
  skipBackends: {
    cpu: 'quick profile (the cpu backend is ~100x slower than wasm for conv nets; run --profile full)',
  },
};

/**
 * The tfjs cpu backend (pure JavaScript) on the Keras family and the VGG net: measured on the
 * development machine, one keras-baseline training step at batch 64 took ~80 s (0.8 samples/s)
 * and keras-shallow ~40 s, against ~5 s for lenet5-classic; three steps per cell at two batch
 * sizes would add hours to the full profile.
 */
const CPU_TOO_SLOW =
  'the tfjs cpu backend takes 40-80 s per batch-64 training step for this model on 2 cores (measured: keras-baseline 0.8 samples/s); run it alone with --models <name> --backends cpu';

/** `pnpm bench --profile full`: everything, more iterations, a real accuracy budget. */
export const FULL: Profile = {
  name: 'full',
  models: [...VARIANTS],
  backends: DEFAULT_BACKENDS,
  trainBatchSizes: [64, 256],
  inferBatchSizes: [1, 64, 256],
  train: { iterations: 10, timeMs: 4000, warmupIterations: 3, warmupTimeMs: 3000 },
  infer: { iterations: 20, timeMs: 2000, warmupIterations: 5, warmupTimeMs: 500 },
  pytorch: { iterations: 20, timeMs: 3000, warmupIterations: 5 },
  pairedRounds: 5,
  accuracy: { trainSamples: 60000, epochs: 1, batch: 64, testSamples: 10000 },
  parallel: { batchesPerEpoch: 20, warmupEpochs: 3, measuredEpochs: 5 },
  overrides: {
    'keras-baseline': { skipBackends: { cpu: CPU_TOO_SLOW } },
    'keras-bn': { skipBackends: { cpu: CPU_TOO_SLOW } },
    'keras-shallow': { skipBackends: { cpu: CPU_TOO_SLOW } },
    'keras-deep': { skipBackends: { cpu: CPU_TOO_SLOW } },
    'vgg-cifar10': {
      accuracy: { trainSamples: 5000, epochs: 1, batch: 64, testSamples: 10000 },
      // One 3-batch warm-up epoch left the first measured epoch still warming up (0.69-0.71 of
      // PyTorch, then 0.82-0.86): three, as many as the other nets.
      parallel: { batchesPerEpoch: 3, warmupEpochs: 3, measuredEpochs: 3 },
      skipBackends: { cpu: CPU_TOO_SLOW },
    },
    // ~0.5 s (wasm) and ~4 s (PyTorch) per batch-16 step, ~1 s and ~8 s at 32: few iterations.
    'folder-lenet50': {
      trainBatchSizes: [16, 32],
      inferBatchSizes: [1, 16, 32],
      accuracy: { skip: FOLDER_NO_ACCURACY },
      parallel: { batchesPerEpoch: 3, warmupEpochs: 1, measuredEpochs: 2 },
      skipBackends: { cpu: CPU_TOO_SLOW_FOLDER },
      timing: {
        train: { iterations: 5, timeMs: 0, warmupIterations: 1, warmupTimeMs: 3000 },
        pytorch: { iterations: 5, timeMs: 0, warmupIterations: 1 },
      },
    },
    // A 20-batch mlp2 epoch lasts 10-20 ms, shorter than the machine's wake-up after PyTorch's
    // round: 200 batches make it last about as long as a LeNet-5 epoch of 20.
    mlp2: { parallel: { batchesPerEpoch: 200, warmupEpochs: 3, measuredEpochs: 5 } },
  },
  extrasTimeMs: 1500,
  backendTiming: {
    cpu: {
      train: { iterations: 2, timeMs: 0, warmupIterations: 1 },
      infer: { iterations: 3, timeMs: 500, warmupIterations: 1 },
    },
  },
  skipBackends: {},
};

/** The profiles by name. */
export const PROFILES: Record<Profile['name'], Profile> = { quick: QUICK, full: FULL };
