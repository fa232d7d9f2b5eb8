import { machineDescription as datasetsMachine, runDatasetBenchmarks } from '../datasets-bench.js';
import { machineDescription as onnxMachine, runOnnxBenchmarks } from '../onnx-bench.js';
import type { BenchResult, ExtraSuite } from '../types.js';
import { type BenchRun, errorMessage } from './context.js';

/** Runs one extra suite: its result with the machine it ran on, or why it failed (logged). */
async function extraSuite<T>(
  run: BenchRun,
  name: string,
  machine: () => string,
  suite: () => Promise<T>,
): Promise<ExtraSuite<T>> {
  try {
    return { status: 'ok', machine: machine(), result: await suite() };
  } catch (err) {
    const reason = errorMessage(err);
    run.log(`${name}: failed (${reason})`);
    return { status: 'failed', reason };
  }
}

/** The extra suites asked for (datasets-bench.ts and onnx-bench.ts, written with their packages). */
export async function runExtras(run: BenchRun): Promise<NonNullable<BenchResult['extras']>> {
  const extras: NonNullable<BenchResult['extras']> = {};
  const timeMs = run.profile.extrasTimeMs;
  if (run.want('datasets')) {
    run.log('datasets: MNIST loading, batching and image-folder decoding (datasets-bench)…');
    extras.datasets = await extraSuite(run, 'datasets', datasetsMachine, () =>
      runDatasetBenchmarks({ timeMs }),
    );
  }
  if (run.want('onnx-threads')) {
    run.log(
      'onnx-threads: onnxruntime at 1 and 2 intra-op threads against TensorFlow.js, lenet5 (onnx-bench)…',
    );
    extras.onnxThreads = await extraSuite(run, 'onnx-threads', onnxMachine, () =>
      runOnnxBenchmarks({ preset: 'lenet5', timeMs }),
    );
  }
  return extras;
}
