import { loadMnistPair } from './data.js';
import { captureEnvironment } from './env.js';
import { runAccuracy } from './run/accuracy.js';
import { BenchRun, type Log, type RunPlan } from './run/context.js';
import { runExtras } from './run/extras.js';
import { runOrtBackends } from './run/ort.js';
import { runParallelTraining } from './run/parallel.js';
import { runPytorchReference } from './run/pytorch.js';
import { benchResult } from './run/result.js';
import { runTfjsBackends } from './run/tfjs.js';
import type { BenchResult } from './types.js';
import { variantSpec } from './variants.js';

export type { Log, RunPlan } from './run/context.js';

/**
 * Runs the matrix and returns the results (nothing is written here), phase by phase: the
 * TensorFlow.js backends, data-parallel training, onnxruntime, the PyTorch reference, accuracy,
 * the extra suites.
 */
export async function runBenchmark(plan: RunPlan, log: Log): Promise<BenchResult> {
  const startedAt = performance.now();
  const env = captureEnvironment();
  const run = new BenchRun(plan, log, env, await loadMnistPair(), variantSpec);
  const workingTfjs = await runTfjsBackends(run);
  await runParallelTraining(run);
  const workingOrt = await runOrtBackends(run);
  const reference = await runPytorchReference(run);
  const accuracy = await runAccuracy(run, workingTfjs, workingOrt);
  const extras = await runExtras(run);
  return benchResult(run, { accuracy, reference, extras, startedAt });
}
