import { type BackendInfo, useBackend } from '@lenet/backend';
import { runTfjsInferCell } from '../cells/infer-cell.js';
import { runTrainCell } from '../cells/train-cell.js';
import type { PartnerFor } from '../measure.js';
import * as tf from '../tfjs.js';
import { TFJS_BACKENDS, type TfjsBackend } from '../types.js';
import { type BenchRun, errorMessage } from './context.js';
import type { Phase } from './phase.js';

/** How the environment reports an active TensorFlow.js backend. */
export function describeBackend(info: BackendInfo): string {
  const parts = [`active (tf backend '${info.tfBackend}')`];
  if (info.threads !== undefined) parts.push(`${info.threads} thread${info.threads === 1 ? '' : 's'}`);
  if (info.wasmSimd !== undefined) parts.push(info.wasmSimd ? 'SIMD' : 'no SIMD');
  if (info.kernelThreads !== undefined) {
    const fma = info.kernelFma ? ' with fused multiply-adds (relaxed SIMD)' : '';
    const heap =
      info.kernelThreads > 1 ? (info.kernelSharedHeap ? ', in place on a shared heap' : ', on copies') : '';
    parts.push(
      `SIMD training kernels${fma} on ${info.kernelThreads} thread${info.kernelThreads === 1 ? '' : 's'}${heap}`,
    );
  }
  if (info.kernels?.length) parts.push(`training kernels: ${info.kernels.join(', ')}`);
  return parts.join(', ');
}

/**
 * Makes `backend` TensorFlow.js's active backend unless it already is (the native backends,
 * `tensorflow` and `tensorflow-gpu`, are both named 'tensorflow' by tf.getBackend()).
 */
export async function activateBackend(backend: TfjsBackend): Promise<void> {
  const tfName = backend.startsWith('tensorflow') ? 'tensorflow' : backend;
  if (tf.getBackend() !== tfName) await useBackend(backend);
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
 * The TensorFlow.js backends asked for, as a phase: each is switched to once at the start (its
 * environment line, or its cells skipped), then per model each working backend's train and infer
 * cells, the first backend's timed in rounds with PyTorch's same cell where `partnerFor` lends one.
 * `working` lists the backends that could be used (accuracy trains on the first).
 */
export function tfjsPhase(
  run: BenchRun,
  partnerFor?: PartnerFor,
): Phase & { readonly working: TfjsBackend[] } {
  const { plan, env } = run;
  const working: TfjsBackend[] = [];
  const active: TfjsBackend[] = [];
  const tensorsLeft = new Map<TfjsBackend, number>();
  const cellsWanted = run.want('train') || run.want('infer');
  return {
    working,
    async start() {
      for (const backend of TFJS_BACKENDS) {
        if (!plan.backends.includes(backend)) continue;
        try {
          env.backends[backend] = describeBackend(await useBackend(backend));
          working.push(backend);
        } catch (err) {
          const reason = `not available: ${errorMessage(err)}`;
          env.backends[backend] = reason;
          if (cellsWanted) run.skipAll(backend, reason);
          continue;
        }
        if (cellsWanted && run.admit(backend)) active.push(backend);
      }
    },
    async model(model) {
      const spec = run.spec(model);
      for (const backend of active) {
        await activateBackend(backend);
        const skip = run.skipReason(model, backend);
        const partner = (batch: number, task: 'train' | 'infer') =>
          backend === active[0] ? partnerFor?.(task, model, batch, backend) : undefined;
        const ctx = (batch: number, task: 'train' | 'infer') => ({
          model,
          spec,
          backend,
          batch,
          timing: run.timing(backend, task, model),
          data: run.data,
          partner: partner(batch, task),
        });
        await run.runCells('train', model, backend, run.trainBatches(model), skip, (batch) =>
          runTrainCell(ctx(batch, 'train')),
        );
        await run.runCells('infer', model, backend, run.inferBatches(model), skip, (batch) =>
          runTfjsInferCell(ctx(batch, 'infer')),
        );
        const left = tf.memory().numTensors;
        tensorsLeft.set(backend, Math.max(tensorsLeft.get(backend) ?? 0, left));
      }
    },
    finish() {
      for (const backend of active) {
        inferencePathNote(run, backend);
        const left = tensorsLeft.get(backend) ?? 0;
        if (left > 0) run.notes.push(`${backend}: ${left} tensors were still allocated after its cells`);
      }
    },
  };
}
