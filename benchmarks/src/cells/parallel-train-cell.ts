import { head } from '@lenet/datasets';
import type { ModelSpec } from '@lenet/models';
import { buildModel } from '@lenet/models/tf';
import { fit } from '@lenet/train';
import { fitToInput, type MnistPair } from '../data.js';
import { CellMemoryProbe } from '../memory.js';
import type { ParallelBudget } from '../profiles.js';
import { type CellResult, FIT_BACKENDS, type FitBackend } from '../types.js';
import { cellId } from './common.js';

/** What a data-parallel training cell needs. */
export interface ParallelCellContext {
  model: string;
  /** The column: its worker count is {@link FIT_BACKENDS}[backend]. */
  backend: FitBackend;
  spec: ModelSpec;
  batch: number;
  budget: Pick<ParallelBudget, 'batchesPerEpoch' | 'measuredEpochs' | 'warmupEpochs'>;
  data: MnistPair;
}

/**
 * Mean samples/s of the measured epochs and their relative spread: half the range (max - min) as
 * a percentage of the mean (0 for one epoch).
 */
export function epochStats(rates: readonly number[]): { mean: number; spreadPct: number } {
  if (rates.length === 0) throw new Error('no measured epoch');
  const mean = rates.reduce((a, b) => a + b, 0) / rates.length;
  const spreadPct = mean > 0 ? ((Math.max(...rates) - Math.min(...rates)) / 2 / mean) * 100 : 0;
  return { mean, spreadPct };
}

/**
 * One training cell measured in epochs of `fit` (`wasm-1w`, `wasm-2w`): `fit(model, data, {
 * workers, spec, ... })` with Adam on the first `batchesPerEpoch × batch` real MNIST training
 * images, `warmupEpochs` warm-up epochs (worker start-up, JIT and wasm tier-up) and
 * `measuredEpochs` timed epochs. Reports the mean of the measured epochs' `samplesPerSecond`
 * (training steps only, as `fit` counts them) with the relative spread as the margin; no
 * per-step latency (fit times epochs, not steps). The wasm backend must be active, and
 * `@lenet/train` built (workers load its dist).
 */
export async function runParallelTrainCell(ctx: ParallelCellContext): Promise<CellResult> {
  const { spec, batch, budget } = ctx;
  const workers = FIT_BACKENDS[ctx.backend];
  const id = cellId('train', ctx.model, ctx.backend, batch);
  const ds = head(fitToInput(ctx.data.train, spec.input), budget.batchesPerEpoch * batch);
  const steps = Math.floor(ds.count / batch);
  if (steps < 1) throw new Error(`${id}: ${ds.count} images make no full batch of ${batch}`);
  const warmup = budget.warmupEpochs ?? 1;
  const probe = new CellMemoryProbe().start();
  const model = buildModel(spec, { seed: 1 });
  try {
    const res = await fit(model, ds, {
      epochs: warmup + budget.measuredEpochs,
      batchSize: batch,
      optimizer: 'adam',
      seed: 1,
      spec,
      workers,
    });
    const rates = res.history.slice(warmup).map((h) => h.samplesPerSecond);
    const { mean, spreadPct } = epochStats(rates);
    return {
      id,
      task: 'train',
      model: ctx.model,
      backend: ctx.backend,
      batch,
      status: 'ok',
      samplesPerSec: mean,
      rme: spreadPct,
      iterations: rates.length * steps,
      memory: { rssGrowthMb: probe.stop() },
      note: `fit with ${workers} worker${workers === 1 ? '' : 's'}: ${warmup} warm-up + ${rates.length} measured epochs of ${steps} batches; margin = half the range of the epochs' samples/s`,
    };
  } finally {
    probe.stop();
    model.dispose();
  }
}
