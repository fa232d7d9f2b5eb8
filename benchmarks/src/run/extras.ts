import { machineDescription as datasetsMachine, runDatasetBenchmarks } from '../datasets-bench.js';
import { machineDescription as onnxMachine, runOnnxBenchmarks } from '../onnx-bench.js';
import type { BenchResult, ExtraSuite } from '../types.js';
import { type BenchRun, errorMessage } from './context.js';

/** The variant the onnxruntime threads suite runs. */
export const ONNX_THREADS_PRESET = 'lenet5';

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
    run.log('onnx-threads: onnxruntime at 1 and 2 intra-op threads, lenet5 (onnx-bench)…');
    // The inference table's ort-cpu cell keeps the faster of its thread counts: that count is not
    // measured again here, so the threads table shows the same number.
    const measured = (threads: number, batch: number): boolean =>
      run.cells.some(
        (c) =>
          c.task === 'infer' &&
          c.model === ONNX_THREADS_PRESET &&
          c.backend === 'ort-cpu' &&
          c.batch === batch &&
          c.status === 'ok' &&
          (c.threads ?? 1) === threads,
      );
    extras.onnxThreads = await extraSuite(run, 'onnx-threads', onnxMachine, () =>
      runOnnxBenchmarks({
        preset: ONNX_THREADS_PRESET,
        batches: run.plan.batchSizes ?? run.profile.inferBatchSizes,
        timing: run.timing('ort-cpu', 'infer'),
        tfjs: false,
        skip: measured,
      }),
    );
  }
  return extras;
}
