import { useBackend } from '@lenet/backend';
import { runParallelTrainCell } from '../cells/parallel-train-cell.js';
import { PARALLEL_BACKEND, PARALLEL_WORKERS } from '../types.js';
import { type BenchRun, errorMessage } from './context.js';
import { describeBackend } from './tfjs.js';

/** Data-parallel training: `fit` with worker threads on wasm, when asked for. */
export async function runParallelTraining(run: BenchRun): Promise<void> {
  const { plan, profile, env } = run;
  if (!plan.backends.includes(PARALLEL_BACKEND) || !run.want('train')) return;
  const whole = profile.skipBackends[PARALLEL_BACKEND];
  let ready: string | undefined;
  try {
    const info = await useBackend('wasm');
    env.backends[PARALLEL_BACKEND] =
      `fit with ${PARALLEL_WORKERS} workers (worker_threads, the main thread counts; each runs the SIMD kernels on 1 thread); main thread: ${describeBackend(info)}`;
  } catch (err) {
    ready = `not available: ${errorMessage(err)}`;
    env.backends[PARALLEL_BACKEND] = ready;
  }
  if (ready) return run.skipAll(PARALLEL_BACKEND, ready);
  if (whole) return run.skipAll(PARALLEL_BACKEND, whole);
  run.log(`${PARALLEL_BACKEND}: ${env.backends[PARALLEL_BACKEND]}`);
  const picked = profile.parallel.models;
  for (const model of plan.models) {
    const skip =
      run.skipReason(model, PARALLEL_BACKEND) ??
      (picked && !picked.includes(model)
        ? `${profile.name} profile measures ${PARALLEL_BACKEND} on ${picked.join(', ')} only (run --profile full)`
        : undefined);
    const budget = { ...profile.parallel, ...profile.overrides[model]?.parallel };
    await run.runCells('train', model, PARALLEL_BACKEND, run.trainBatches(model), skip, (batch) =>
      runParallelTrainCell({ model, spec: run.spec(model), batch, budget, data: run.data }),
    );
  }
  run.notes.push(
    `${PARALLEL_BACKEND}: \`fit(..., { workers: ${PARALLEL_WORKERS} })\` on wasm, Adam, on the first ${profile.parallel.batchesPerEpoch} batches of MNIST training images: ${profile.parallel.warmupEpochs ?? 1} warm-up epoch(s), then ${profile.parallel.measuredEpochs} measured epochs; samples/s is the mean of the measured epochs (training steps only, as fit counts them) and its margin is half the range of the epochs' samples/s as a percentage of the mean (not a 95 % interval)`,
  );
}
