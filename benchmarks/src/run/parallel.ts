import { useBackend } from '@lenet/backend';
import { runParallelTrainCell } from '../cells/parallel-train-cell.js';
import type { PartnerFor } from '../measure.js';
import { FIT_BACKENDS, type FitBackend } from '../types.js';
import { type BenchRun, errorMessage } from './context.js';
import type { Phase } from './phase.js';
import { activateBackend, describeBackend } from './tfjs.js';

const FIT_COLUMNS = Object.keys(FIT_BACKENDS) as FitBackend[];

/**
 * Training measured in epochs of `fit` on wasm, with 1 and with 2 workers (the data-parallel
 * table), as a phase: both columns share one method, so their ratio is the data-parallel speed-up.
 * Where `partnerFor` lends PyTorch's same training cell, each measured epoch is paired with one of
 * its rounds.
 */
export function parallelPhase(run: BenchRun, partnerFor?: PartnerFor): Phase {
  const { plan, profile, env } = run;
  const asked = FIT_COLUMNS.filter((b) => plan.backends.includes(b));
  const picked = profile.parallel.models;
  const active: FitBackend[] = [];
  return {
    async start() {
      if (asked.length === 0 || !run.want('train')) return;
      let mainThread: string;
      try {
        // The kernel list is on the wasm line already.
        mainThread = describeBackend({ ...(await useBackend('wasm')), kernels: undefined });
      } catch (err) {
        const ready = `not available: ${errorMessage(err)}`;
        for (const backend of asked) {
          env.backends[backend] = ready;
          run.skipAll(backend, ready);
        }
        return;
      }
      for (const backend of asked) {
        const workers = FIT_BACKENDS[backend];
        env.backends[backend] =
          workers === 1
            ? `fit on the main thread alone: ${mainThread}`
            : `fit with ${workers} workers (worker_threads, the main thread counts; each runs the SIMD kernels on 1 thread); main thread: ${mainThread}`;
        if (run.admit(backend)) active.push(backend);
      }
    },
    async model(model) {
      if (active.length === 0) return;
      await activateBackend('wasm');
      for (const backend of active) {
        const skip =
          run.skipReason(model, backend) ??
          (picked && !picked.includes(model)
            ? `${profile.name} profile measures ${asked.join(' and ')} on ${picked.join(', ')} only (run --profile full)`
            : undefined);
        const budget = { ...profile.parallel, ...profile.overrides[model]?.parallel };
        await run.runCells('train', model, backend, run.trainBatches(model), skip, (batch) =>
          runParallelTrainCell({
            model,
            backend,
            spec: run.spec(model),
            batch,
            budget,
            data: run.data,
            partner: partnerFor?.('train', model, batch, backend),
          }),
        );
      }
    },
    finish() {
      if (active.length === 0) return;
      const p = profile.parallel;
      const own = plan.models.flatMap((m) => {
        const o = profile.overrides[m]?.parallel;
        return o && (!picked || picked.includes(m))
          ? [
              `${m}: ${o.batchesPerEpoch} batches, ${o.warmupEpochs ?? 1} warm-up + ${o.measuredEpochs} measured epochs`,
            ]
          : [];
      });
      run.notes.push(
        `${asked.join(', ')}: \`fit\` on wasm, Adam, fit's default callbacks (none), on the first ${p.batchesPerEpoch} batches of MNIST training images with the next 1/9 as many as the validation set (the proportion of the CLI's 10 % split), evaluated after every epoch: ${p.warmupEpochs ?? 1} warm-up epoch(s), then ${p.measuredEpochs} measured epochs; samples/s is the mean over the measured epochs of training images ÷ the epoch's wall time (training steps, validation and any batch-norm recalibration fit does), and its margin is half the range of the epochs' samples/s as a percentage of the mean (not a 95 % interval); each cell's note gives fit's training-steps-only figure. The ratio to PyTorch is to its training step alone (no validation), paired where PyTorch runs too: each measured epoch is followed by a round of PyTorch's same cell, the ratio the median of those pairs${own.length ? `. Other budgets: ${own.join('; ')}` : ''}`,
      );
    },
  };
}
