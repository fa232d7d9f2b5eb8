import type { ModelSpec } from '@lenet/models';
import type { MnistPair } from '../data.js';
import {
  type Measured,
  measure,
  measureRounds,
  median,
  type PairedMeasured,
  type RoundPartner,
  samplesPerSecond,
} from '../measure.js';
import type { Timing } from '../profiles.js';
import {
  type BenchBackend,
  type CellMemory,
  type CellResult,
  type CellTask,
  PYTORCH_BACKEND,
} from '../types.js';

/** What a cell needs: the variant, its spec, the batch size, how long to measure, the data. */
export interface CellContext {
  model: string;
  spec: ModelSpec;
  backend: BenchBackend;
  batch: number;
  timing: Timing;
  data: MnistPair;
  /** PyTorch's same cell, to be timed in rounds between ours (see `measureRounds`). */
  partner?: RoundPartner;
}

/** The `--compare` key of a cell. */
export function cellId(task: CellTask, model: string, backend: string, batch: number): string {
  return `${task}/${model}/${backend}/b${batch}`;
}

/** A cell that was not run, with the reason. */
export function skippedCell(
  task: CellTask,
  model: string,
  backend: BenchBackend,
  batch: number,
  reason: string,
): CellResult {
  return { id: cellId(task, model, backend, batch), task, model, backend, batch, status: 'skipped', reason };
}

/** A cell that threw: the message becomes its reason. */
export function failedCell(
  task: CellTask,
  model: string,
  backend: BenchBackend,
  batch: number,
  err: unknown,
): CellResult {
  const reason = err instanceof Error ? err.message.split('\n')[0] : String(err);
  return { id: cellId(task, model, backend, batch), task, model, backend, batch, status: 'failed', reason };
}

/**
 * Times `fn` (one iteration = one batch) with tinybench under the context's timing, in rounds
 * between its partner's where the context has one, and returns the `ok` cell; `extras` runs after
 * measuring (outside the timing) and adds the memory figures and a note.
 */
export async function measuredCell(
  task: CellTask,
  ctx: CellContext,
  fn: () => Promise<unknown>,
  extras: () => Promise<{ memory: CellMemory; note?: string }>,
): Promise<CellResult> {
  const { model, backend, batch } = ctx;
  const id = cellId(task, model, backend, batch);
  const rounds: PairedMeasured | undefined = ctx.partner
    ? await measureRounds(id, fn, ctx.timing, ctx.partner)
    : undefined;
  const m: Measured = rounds ?? (await measure(id, fn, ctx.timing));
  const extra = await extras();
  const pairing = pairedWith(rounds?.ratios ?? [], rounds?.partnerError);
  const note = [extra.note, pairing.note].filter((n) => n !== undefined).join('; ');
  return {
    id,
    task,
    model,
    backend,
    batch,
    status: 'ok',
    samplesPerSec: samplesPerSecond(batch, m.latencyMs.mean),
    latencyMs: m.latencyMs,
    rme: m.rme,
    iterations: m.iterations,
    memory: extra.memory,
    ...(note ? { note } : {}),
    ...(pairing.paired ? { paired: pairing.paired } : {}),
  };
}

/**
 * A cell's pairing with PyTorch from its per-round ratios: the `paired` field where there was a
 * round, and a note where the partner stopped early (`partnerError`).
 */
export function pairedWith(
  ratios: number[],
  partnerError: string | undefined,
): { paired?: NonNullable<CellResult['paired']>; note?: string } {
  return {
    ...(ratios.length ? { paired: { against: PYTORCH_BACKEND, ratios, median: median(ratios) } } : {}),
    ...(partnerError !== undefined
      ? { note: `paired with PyTorch for ${ratios.length} round(s) only: ${partnerError}` }
      : {}),
  };
}
