import type { JobEpoch, JobResult, StudyDefinition } from '../types.js';

// Input data of the summary and report tests: a study of four arms over five seeds, and results as the runners
// return them. Expected figures were computed independently (SciPy's ttest_rel / ttest_1samp).

export const study: StudyDefinition = {
  name: 'bn-test',
  description: 'Does BatchNorm help LeNet-5 on MNIST?',
  answers: { report: 'report-002', question: 'Is BatchNorm worth it?' },
  dataset: 'mnist',
  recipe: 'default',
  budget: { epochs: 2, trainLimit: 1000, testLimit: 500 },
  seeds: [1, 2, 3, 4, 5],
  arms: [
    { name: 'with-bn', description: 'LeNet-5 with BatchNorm', model: 'lenet5-bn' },
    { name: 'no-bn', model: 'lenet5' },
    { name: 'dropout', model: 'lenet5-dropout' },
    { name: 'tiny', model: 'lenet1' },
  ],
  comparisons: [
    { a: 'with-bn', b: 'no-bn', question: 'Does BatchNorm help?' },
    { a: 'no-bn', b: 'with-bn' },
    { a: 'dropout', b: 'no-bn' },
    { a: 'tiny', b: 'with-bn' },
  ],
};

export const machine = {
  hostname: 'box-a',
  platform: 'linux-x64',
  cpuModel: 'Test CPU',
  cpus: 2,
  memoryGiB: 8,
  node: 'v20.0.0',
};

/** Two epochs whose figures move with the seed: loss 0.5 / 0.3, accuracy 0.8 / 0.9, plus seed / 100. */
function history(seed: number, validation: boolean): JobEpoch[] {
  return [1, 2].map((epoch) => ({
    epoch,
    loss: (epoch === 1 ? 0.5 : 0.3) + seed / 100,
    accuracy: (epoch === 1 ? 0.8 : 0.9) + seed / 100,
    ...(validation
      ? { valAccuracy: (epoch === 1 ? 0.85 : 0.95) + seed / 100, valLoss: 0.4 + seed / 100 }
      : {}),
    seconds: 1,
  }));
}

export function done(
  arm: string,
  seed: number,
  testAccuracy: number,
  extra: Partial<JobResult> = {},
): JobResult {
  return {
    id: `${arm}-${seed}`,
    study: 'bn-test',
    arm,
    seed,
    status: 'done',
    history: history(seed, arm === 'with-bn'),
    testAccuracy,
    testLoss: 1 - testAccuracy,
    wallSeconds: 10 + seed,
    machine,
    backend: 'wasm (2 threads)',
    worker: 'local-1',
    finishedAt: '2025-01-01T00:00:00.000Z',
    ...extra,
  };
}

export const results: JobResult[] = [
  ...[0.97, 0.975, 0.965, 0.98, 0.97].map((acc, i) => done('with-bn', i + 1, acc)),
  ...[0.921, 0.93, 0.91, 0.94].map((acc, i) => done('no-bn', i + 1, acc)),
  {
    ...done('no-bn', 5, 0),
    status: 'failed',
    testAccuracy: undefined,
    testLoss: undefined,
    history: history(5, false).slice(0, 1),
    error: {
      code: 'DATASET_MISSING',
      message: "cannot read '/home/ann/data/mnist/t10k-images-idx3-ubyte': no such file",
      kind: 'input',
    },
    machine: { ...machine, hostname: 'box-b' },
  },
  ...[0.925, 0.925, 0.915, 0.935, 0.93].map((acc, i) => done('dropout', i + 1, acc)),
  done('tiny', 1, 0.95),
];
