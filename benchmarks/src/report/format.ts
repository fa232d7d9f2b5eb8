import type { BenchResult, CellResult, CellTask } from '../types.js';

/** Whole number with thousands separators (samples/s, images). */
export const int = (v: number): string => Math.round(v).toLocaleString('en-US');
/** Fraction as a percentage. */
export const pct = (v: number, digits = 2): string => `${(v * 100).toFixed(digits)}%`;
/** Milliseconds to three significant digits or so. */
export const ms = (v: number): string => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
/** A ratio of two samples/s figures, written the same way in the tables and in the summary. */
export const ratio = (v: number): string => v.toFixed(3);
/** MiB to one decimal. */
export const mib = (v: number | undefined): string => (v === undefined ? '' : v.toFixed(1));

/** Formats a table in GitHub markdown (one owner: @lenet/common). */
export { markdownTable } from '@lenet/common';

/** Numbers skip/fail reasons so tables can show `skipped [1]` and list the reasons once. */
export class Footnotes {
  private readonly reasons: string[] = [];
  ref(reason: string): number {
    let i = this.reasons.indexOf(reason);
    if (i < 0) i = this.reasons.push(reason) - 1;
    return i + 1;
  }
  render(): string {
    return this.reasons.map((r, i) => `[${i + 1}] ${r}`).join('\n\n');
  }
  get size(): number {
    return this.reasons.length;
  }
}

/** The cell of one task, model, backend and batch size, if the run has it. */
export function find(
  r: BenchResult,
  task: CellTask,
  model: string,
  backend: string,
  batch: number,
): CellResult | undefined {
  return r.cells.find(
    (c) => c.task === task && c.model === model && c.backend === backend && c.batch === batch,
  );
}

/** The samples/s of a measured cell, the value every table and chart shows for it. */
export function okRate(c: CellResult | undefined): number | undefined {
  return c?.status === 'ok' && c.samplesPerSec ? c.samplesPerSec : undefined;
}

/** A cell as the speed tables show it: `samples/s ±margin%`, or why it was not measured. */
export function cellText(c: CellResult | undefined, notes: Footnotes): string {
  if (!c) return '';
  if (c.status !== 'ok') return `${c.status} [${notes.ref(c.reason ?? 'no reason given')}]`;
  return rateText(c.samplesPerSec ?? 0, c.rme ?? 0);
}

/** `samples/s ±margin%`. */
export function rateText(samplesPerSec: number, rme: number): string {
  return `${int(samplesPerSec)} ±${rme.toFixed(0)}%`;
}
