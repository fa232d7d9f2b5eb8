import { finishEnvironment } from '../env.js';
import { type AccuracyResult, type BenchResult, RESULT_FORMAT, RESULT_VERSION } from '../types.js';
import type { BenchRun } from './context.js';

/** What the phases measured besides the cells. */
export interface RunOutcome {
  accuracy: AccuracyResult[];
  reference: BenchResult['reference'];
  extras: NonNullable<BenchResult['extras']>;
  /** `performance.now()` when the run started. */
  startedAt: number;
}

/** The closing notes: the data substitution, the profile's budgets, a busy machine. */
function closingNotes(run: BenchRun): void {
  const { profile, env, notes } = run;
  if (run.plan.models.includes('vgg-cifar10')) {
    notes.push(
      'vgg-cifar10 is fed MNIST zero-padded to 32x32 with the grey channel repeated to 3 (no CIFAR-10 copy on this machine; speed does not depend on the pixels)',
    );
  }
  if (run.plan.models.includes('folder-lenet50')) {
    notes.push(
      "folder-lenet50 (report 001's 256x256x3, 50-class image-folder net) is timed on MNIST digits zero-padded to 256x256 with the grey channel repeated to 3, not on the report's images (not on this machine; speed does not depend on the pixels); its accuracy cell is skipped for that reason",
    );
  }
  notes.push(
    `profile '${profile.name}': train cells ≥ ${profile.train.iterations} iterations / ${profile.train.timeMs} ms after ${profile.train.warmupIterations} warm-up (and ≥ ${profile.train.warmupTimeMs ?? 0} ms); infer cells ≥ ${profile.infer.iterations} / ${profile.infer.timeMs} ms after ${profile.infer.warmupIterations} (and ≥ ${profile.infer.warmupTimeMs ?? 0} ms)`,
  );
  finishEnvironment(env);
  const busy = Math.max(...env.loadAverageStart.slice(0, 1), ...(env.loadAverageEnd ?? []).slice(0, 1));
  if (busy > env.cores) {
    notes.push(
      `the machine was busy: 1-minute load average ${env.loadAverageStart[0]} at start, ${env.loadAverageEnd?.[0]} at end, on ${env.cores} cores — other processes shared the CPU, so absolute numbers are low and noisy`,
    );
  }
}

/** The results file of a finished run (closing the environment and the notes). */
export function benchResult(run: BenchRun, outcome: RunOutcome): BenchResult {
  closingNotes(run);
  const { plan, profile } = run;
  return {
    format: RESULT_FORMAT,
    version: RESULT_VERSION,
    options: {
      profile: profile.name,
      models: plan.models,
      backends: plan.backends,
      trainBatchSizes: plan.batchSizes ?? profile.trainBatchSizes,
      inferBatchSizes: plan.batchSizes ?? profile.inferBatchSizes,
    },
    env: run.env,
    cells: run.cells,
    accuracy: outcome.accuracy,
    reference: outcome.reference,
    ...(Object.keys(outcome.extras).length > 0 ? { extras: outcome.extras } : {}),
    notes: run.notes,
    durationSec: Math.round((performance.now() - outcome.startedAt) / 100) / 10,
  };
}
