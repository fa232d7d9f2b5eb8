import { loadMnistPair } from './data.js';
import { captureEnvironment } from './env.js';
import { runAccuracy } from './run/accuracy.js';
import { BenchRun, type Log, type RunPlan } from './run/context.js';
import { runExtras } from './run/extras.js';
import { ortPhase } from './run/ort.js';
import { parallelPhase } from './run/parallel.js';
import { runPhasesByModel } from './run/phase.js';
import { pytorchPhase } from './run/pytorch.js';
import { benchResult } from './run/result.js';
import { tfjsPhase } from './run/tfjs.js';
import type { BenchResult } from './types.js';
import { variantSpec } from './variants.js';

export type { Log, RunPlan } from './run/context.js';

/**
 * Runs the matrix and returns the results (nothing is written here): the speed cells model by
 * model (for each model: the TensorFlow.js backends, the first of them in rounds alternating with
 * PyTorch's same cells, training through `fit`, onnxruntime, the PyTorch reference's cells), then
 * accuracy and the extra suites.
 */
export async function runBenchmark(plan: RunPlan, log: Log): Promise<BenchResult> {
  const startedAt = performance.now();
  const env = captureEnvironment();
  const run = new BenchRun(plan, log, env, await loadMnistPair(), variantSpec);
  const pytorch = pytorchPhase(run);
  const tfjs = tfjsPhase(run, pytorch.partner);
  const ort = ortPhase(run);
  await runPhasesByModel(run, [tfjs, parallelPhase(run, pytorch.partner), ort, pytorch]);
  const reference = pytorch.reference();
  const accuracy = await runAccuracy(run, tfjs.working, ort.working);
  const extras = await runExtras(run);
  return benchResult(run, { accuracy, reference, extras, startedAt });
}
