import { runAccuracyCell } from '../cells/accuracy-cell.js';
import type { AccuracyBudget } from '../profiles.js';
import type { AccuracyResult, OrtBackend, TfjsBackend } from '../types.js';
import { type BenchRun, errorMessage } from './context.js';
import { activateBackend } from './tfjs.js';

/** One model's accuracy row: trained on `tfBackend`, evaluated there and with onnxruntime. */
async function accuracyRow(
  run: BenchRun,
  model: string,
  tfBackend: TfjsBackend | undefined,
  ortBackend: OrtBackend,
  workingOrt: readonly OrtBackend[],
): Promise<AccuracyResult> {
  const o = run.profile.overrides[model]?.accuracy;
  const budget: AccuracyBudget | undefined = o && 'skip' in o ? undefined : (o ?? run.profile.accuracy);
  if (!budget) return { model, status: 'skipped', reason: (o as { skip: string }).skip };
  if (!tfBackend) return { model, status: 'skipped', reason: 'no TensorFlow.js backend available' };
  if (!workingOrt.includes(ortBackend)) {
    return { model, status: 'skipped', reason: `onnxruntime-node ${ortBackend} not available` };
  }
  await activateBackend(tfBackend);
  run.log(
    `accuracy/${model}: training ${budget.epochs} epoch(s) on ${budget.trainSamples} images (${tfBackend})…`,
  );
  try {
    return await runAccuracyCell({
      model,
      spec: run.spec(model),
      budget,
      data: run.data,
      backend: tfBackend,
      ortBackend,
    });
  } catch (err) {
    return { model, status: 'failed', reason: errorMessage(err, true) };
  }
}

/**
 * The accuracy rows, when asked for: each model trained on the first working TensorFlow.js
 * backend and evaluated there and with onnxruntime (CUDA when it works, else CPU).
 */
export async function runAccuracy(
  run: BenchRun,
  workingTfjs: readonly TfjsBackend[],
  workingOrt: readonly OrtBackend[],
): Promise<AccuracyResult[]> {
  const accuracy: AccuracyResult[] = [];
  if (!run.want('accuracy')) return accuracy;
  const tfBackend = workingTfjs[0];
  const ortBackend = workingOrt.includes('ort-cuda') ? 'ort-cuda' : 'ort-cpu';
  for (const model of run.plan.models) {
    const r = await accuracyRow(run, model, tfBackend, ortBackend, workingOrt);
    accuracy.push(r);
    run.log(
      r.status === 'ok'
        ? `accuracy/${model}: tfjs ${(r.tfjsAccuracy! * 100).toFixed(2)}%, onnx ${(r.onnxAccuracy! * 100).toFixed(2)}% (${r.budget!.seconds.toFixed(0)} s)`
        : `accuracy/${model}: ${r.status} (${r.reason})`,
    );
  }
  return accuracy;
}
