import { markdownTable } from './report.js';
import type { BenchResult, CellResult } from './types.js';

/** How one cell changed between two runs. */
export interface CellChange {
  id: string;
  old?: CellResult;
  new?: CellResult;
  /** new samples/s ÷ old samples/s (both cells measured). */
  ratio?: number;
  /** Combined relative margin of error of the two means, as a fraction. */
  noise?: number;
  verdict:
    | 'faster'
    | 'slower'
    | 'within noise'
    | 'only in old'
    | 'only in new'
    | 'status changed'
    | 'not measured';
}

/** The regression report of two results files. */
export interface Comparison {
  changes: CellChange[];
  faster: number;
  slower: number;
  withinNoise: number;
}

/**
 * Compares two runs cell by cell. A change counts only when |new/old − 1| exceeds the two
 * relative margins of error added together; everything else is 'within noise'.
 */
export function compareResults(oldRun: BenchResult, newRun: BenchResult): Comparison {
  const oldCells = new Map(oldRun.cells.map((c) => [c.id, c]));
  const newCells = new Map(newRun.cells.map((c) => [c.id, c]));
  const ids = [...oldCells.keys(), ...[...newCells.keys()].filter((k) => !oldCells.has(k))];
  const changes: CellChange[] = ids.map((id) => {
    const o = oldCells.get(id);
    const n = newCells.get(id);
    if (!o) return { id, new: n, verdict: 'only in new' };
    if (!n) return { id, old: o, verdict: 'only in old' };
    if (o.status !== 'ok' || n.status !== 'ok') {
      return { id, old: o, new: n, verdict: o.status === n.status ? 'not measured' : 'status changed' };
    }
    const ratio = (n.samplesPerSec ?? 0) / (o.samplesPerSec ?? Number.NaN);
    const noise = ((o.rme ?? 0) + (n.rme ?? 0)) / 100;
    const verdict = !Number.isFinite(ratio)
      ? 'not measured'
      : ratio - 1 > noise
        ? 'faster'
        : 1 - ratio > noise
          ? 'slower'
          : 'within noise';
    return { id, old: o, new: n, ratio, noise, verdict };
  });
  return {
    changes,
    faster: changes.filter((c) => c.verdict === 'faster').length,
    slower: changes.filter((c) => c.verdict === 'slower').length,
    withinNoise: changes.filter((c) => c.verdict === 'within noise').length,
  };
}

const sps = (c: CellResult | undefined): string =>
  c === undefined
    ? ''
    : c.status === 'ok'
      ? Math.round(c.samplesPerSec ?? 0).toLocaleString('en-US')
      : c.status;

/** The regression report as markdown: a summary line, the cells, then accuracy changes. */
export function renderComparison(
  cmp: Comparison,
  oldRun: BenchResult,
  newRun: BenchResult,
  names: { old: string; new: string },
): string {
  const lines = [
    `# Benchmark comparison`,
    '',
    `- old: ${names.old} (${oldRun.options.profile}, ${oldRun.env.date}, ${oldRun.env.cpuModel}, ${oldRun.env.cores} cores)`,
    `- new: ${names.new} (${newRun.options.profile}, ${newRun.env.date}, ${newRun.env.cpuModel}, ${newRun.env.cores} cores)`,
    `- ${cmp.faster} faster, ${cmp.slower} slower, ${cmp.withinNoise} within noise (a change counts when |new/old − 1| exceeds the sum of both relative margins of error); ${cmp.changes.filter((c) => c.verdict === 'not measured').length} cells measured in neither run are left out`,
    '',
  ];
  const flag = (v: CellChange['verdict']): string =>
    v === 'faster' ? '**faster**' : v === 'slower' ? '**SLOWER**' : v;
  lines.push(
    markdownTable(
      ['cell', 'old samples/s', 'new samples/s', 'new / old', 'noise ±', 'verdict'],
      cmp.changes
        .filter((c) => c.verdict !== 'not measured')
        .map((c) => [
          c.id,
          sps(c.old),
          sps(c.new),
          c.ratio !== undefined ? c.ratio.toFixed(3) : '',
          c.noise !== undefined ? `${(c.noise * 100).toFixed(1)}%` : '',
          flag(c.verdict),
        ]),
    ),
  );
  const accRows: string[][] = [];
  for (const n of newRun.accuracy) {
    const o = oldRun.accuracy.find((a) => a.model === n.model);
    if (o?.status !== 'ok' || n.status !== 'ok') continue;
    const d = (n.tfjsAccuracy! - o.tfjsAccuracy!) * 100;
    accRows.push([
      n.model,
      `${(o.tfjsAccuracy! * 100).toFixed(2)}%`,
      `${(n.tfjsAccuracy! * 100).toFixed(2)}%`,
      `${d >= 0 ? '+' : ''}${d.toFixed(2)} pt`,
      `${(o.onnxAccuracy! * 100).toFixed(2)}% → ${(n.onnxAccuracy! * 100).toFixed(2)}%`,
    ]);
  }
  if (accRows.length > 0) {
    lines.push(
      '',
      '## Test accuracy',
      '',
      markdownTable(['model', 'old tfjs', 'new tfjs', 'change', 'ONNX'], accRows),
    );
  }
  return `${lines.join('\n')}\n`;
}
