import { type Dataset, head, subset } from '@lenet/datasets';
import type { ModelSpec } from '@lenet/models';
import { buildModel } from '@lenet/models/tf';
import { fit } from '@lenet/train';
import { fitToInput, type MnistPair } from '../data.js';
import type { RoundPartner } from '../measure.js';
import { CellMemoryProbe } from '../memory.js';
import { type ParallelBudget, VALIDATION_PER_TRAINING_IMAGE } from '../profiles.js';
import { type CellResult, FIT_BACKENDS, type FitBackend } from '../types.js';
import { cellId, pairedWith } from './common.js';

/** What a data-parallel training cell needs. */
export interface ParallelCellContext {
  model: string;
  /** The column: its worker count is {@link FIT_BACKENDS}[backend]. */
  backend: FitBackend;
  spec: ModelSpec;
  batch: number;
  budget: Pick<ParallelBudget, 'batchesPerEpoch' | 'measuredEpochs' | 'warmupEpochs'>;
  data: MnistPair;
  /** PyTorch's training step, timed for a round after each measured epoch (at most its `rounds`). */
  partner?: RoundPartner;
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
 * The training and validation sets of a `fit` cell: the first `batchesPerEpoch × batch` MNIST
 * training images, and the next `ceil(that / 9)` as the validation set (held-out training
 * images, in the proportion of the CLI's 10 % split). Only these images are fitted to the input.
 */
export function fitCellData(
  data: MnistPair,
  input: readonly [number, number, number],
  batchesPerEpoch: number,
  batch: number,
): { train: Dataset; validation: Dataset } {
  const trainCount = batchesPerEpoch * batch;
  const valCount = Math.ceil(trainCount * VALIDATION_PER_TRAINING_IMAGE);
  const all = fitToInput(data.train, input, trainCount + valCount);
  if (all.count < trainCount + valCount) {
    throw new Error(`${all.count} training images are fewer than ${trainCount} + ${valCount} validation`);
  }
  const rest = Array.from({ length: valCount }, (_, i) => trainCount + i);
  return { train: head(all, trainCount), validation: subset(all, rest) };
}

/**
 * One training cell measured in epochs of `fit` (`wasm-1w`, `wasm-2w`), as a user's `fit` sees
 * its throughput: `fit(model, train, { validation, workers, spec, ... })` with Adam, fit's default
 * callbacks (none) and a validation set ({@link fitCellData}) evaluated after every epoch, on
 * real MNIST images; `warmupEpochs` warm-up epochs (worker start-up, JIT and wasm tier-up) and
 * `measuredEpochs` timed epochs. Samples/s of an epoch = its training images ÷ its whole wall
 * time (`epochSeconds`: training steps and validation); the cell reports the mean over the
 * measured epochs with the relative spread as the margin, and in its note fit's own
 * training-steps-only figure. No per-step latency (fit times epochs, not steps). With a
 * `partner`, each measured epoch is followed (in `onEpochEnd`, outside the epoch's time) by a
 * round of PyTorch's same training cell, and the cell keeps the ratio of each pair: the epoch's
 * samples/s ÷ PyTorch's in that round. The wasm backend must be active, and `@lenet/train` built
 * (workers load its dist).
 */
export async function runParallelTrainCell(ctx: ParallelCellContext): Promise<CellResult> {
  const { spec, batch, budget } = ctx;
  const workers = FIT_BACKENDS[ctx.backend];
  const id = cellId('train', ctx.model, ctx.backend, batch);
  const { train, validation } = fitCellData(ctx.data, spec.input, budget.batchesPerEpoch, batch);
  const steps = Math.floor(train.count / batch);
  if (steps < 1) throw new Error(`${id}: ${train.count} images make no full batch of ${batch}`);
  const warmup = budget.warmupEpochs ?? 1;
  const probe = new CellMemoryProbe().start();
  const model = buildModel(spec, { seed: 1 });
  const { partner } = ctx;
  const ratios: number[] = [];
  let partnerError: string | undefined;
  let epochsSeen = 0;
  const pairing = {
    // fit has measured the epoch (epochSeconds) before it calls onEpochEnd.
    async onEpochEnd(_epoch: number, logs: { epochSeconds: number }) {
      const measured = epochsSeen++ >= warmup;
      if (!partner || !measured || partnerError !== undefined || ratios.length >= partner.rounds) return;
      try {
        const theirsMs = await partner.round(ratios.length);
        ratios.push(train.count / logs.epochSeconds / ((batch * 1000) / theirsMs));
      } catch (err) {
        partnerError = err instanceof Error ? err.message : String(err);
      }
    },
  };
  try {
    const res = await fit(model, train, {
      epochs: warmup + budget.measuredEpochs,
      batchSize: batch,
      optimizer: 'adam',
      seed: 1,
      spec,
      workers,
      validation,
      ...(partner ? { callbacks: [pairing] } : {}),
    });
    const measured = res.history.slice(warmup);
    const rates = measured.map((h) => train.count / h.epochSeconds);
    const { mean, spreadPct } = epochStats(rates);
    const stepsOnly = epochStats(measured.map((h) => h.samplesPerSecond)).mean;
    const paired = pairedWith(ratios, partnerError);
    const valShare = measured.reduce(
      (a, h) => a + (1 - train.count / h.samplesPerSecond / h.epochSeconds),
      0,
    );
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
      note: `fit with ${workers} worker${workers === 1 ? '' : 's'}: ${warmup} warm-up + ${rates.length} measured epochs of ${steps} batches and ${validation.count} validation images; samples/s over the whole epoch, validation included (training steps alone: ${Math.round(stepsOnly).toLocaleString('en-US')} samples/s; the end-of-epoch work, validation and any batch-norm recalibration fit does, took ${((valShare / measured.length) * 100).toFixed(0)} % of the epoch); margin = half the range of the epochs' samples/s${paired.note ? `; ${paired.note}` : ''}`,
      ...(paired.paired ? { paired: paired.paired } : {}),
    };
  } finally {
    probe.stop();
    model.dispose();
  }
}
