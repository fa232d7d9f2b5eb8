import { type BackendInfo, useBackend } from '@lenet/backend';
import { runTfjsInferCell } from '../cells/infer-cell.js';
import { runTrainCell } from '../cells/train-cell.js';
import * as tf from '../tfjs.js';
import { TFJS_BACKENDS, type TfjsBackend } from '../types.js';
import { type BenchRun, errorMessage } from './context.js';

/** How the environment reports an active TensorFlow.js backend. */
export function describeBackend(info: BackendInfo): string {
  const parts = [`active (tf backend '${info.tfBackend}')`];
  if (info.threads !== undefined) parts.push(`${info.threads} thread${info.threads === 1 ? '' : 's'}`);
  if (info.wasmSimd !== undefined) parts.push(info.wasmSimd ? 'SIMD' : 'no SIMD');
  if (info.kernelThreads !== undefined) {
    parts.push(`SIMD training kernels on ${info.kernelThreads} thread${info.kernelThreads === 1 ? '' : 's'}`);
  }
  if (info.kernels?.length) parts.push(`training kernels: ${info.kernels.join(', ')}`);
  return parts.join(', ');
}

/** One run note naming the forward pass each model's inference cells on `backend` ran (cell notes). */
export function inferencePathNote(run: Pick<BenchRun, 'cells' | 'notes'>, backend: TfjsBackend): void {
  const byPath = new Map<string, string[]>();
  for (const c of run.cells) {
    if (c.task !== 'infer' || c.backend !== backend || c.status !== 'ok' || !c.note) continue;
    const models = byPath.get(c.note) ?? [];
    if (!models.includes(c.model)) models.push(c.model);
    byPath.set(c.note, models);
  }
  if (byPath.size === 0) return;
  const parts = [...byPath].map(([note, models]) => `${note}: ${models.join(', ')}`);
  run.notes.push(`${backend} inference cells: ${parts.join('; ')}`);
}

/**
 * The TensorFlow.js backends asked for: each is switched to, then its train and infer cells run.
 * Returns the backends that could be used (accuracy trains on the first).
 */
export async function runTfjsBackends(run: BenchRun): Promise<TfjsBackend[]> {
  const { plan, profile, env } = run;
  const working: TfjsBackend[] = [];
  for (const backend of TFJS_BACKENDS) {
    if (!plan.backends.includes(backend)) continue;
    const whole = profile.skipBackends[backend];
    try {
      env.backends[backend] = describeBackend(await useBackend(backend));
      working.push(backend);
    } catch (err) {
      const reason = `not available: ${errorMessage(err)}`;
      env.backends[backend] = reason;
      if (run.want('train') || run.want('infer')) run.skipAll(backend, reason);
      continue;
    }
    if (!run.want('train') && !run.want('infer')) continue;
    if (whole) {
      run.skipAll(backend, whole);
      continue;
    }
    run.log(`${backend}: ${env.backends[backend]}`);
    for (const model of plan.models) {
      const spec = run.spec(model);
      const skip = run.skipReason(model, backend);
      const ctx = (batch: number, task: 'train' | 'infer') => ({
        model,
        spec,
        backend,
        batch,
        timing: run.timing(backend, task, model),
        data: run.data,
      });
      await run.runCells('train', model, backend, run.trainBatches(model), skip, (batch) =>
        runTrainCell(ctx(batch, 'train')),
      );
      await run.runCells('infer', model, backend, run.inferBatches(model), skip, (batch) =>
        runTfjsInferCell(ctx(batch, 'infer')),
      );
    }
    inferencePathNote(run, backend);
    const left = tf.memory().numTensors;
    if (left > 0) run.notes.push(`${backend}: ${left} tensors were still allocated after its cells`);
  }
  return working;
}
