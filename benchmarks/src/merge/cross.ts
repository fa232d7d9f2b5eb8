import { cellText, type Footnotes, find, int, markdownTable, ms, pct } from '../report/format.js';
import type { ReportSection } from '../report.js';
import { ALL_BACKENDS, type CellResult, type CellTask } from '../types.js';
import type { MergedRun } from './merge.js';

/**
 * The cross-machine tables: each run's absolute figures side by side, one column per run, the
 * machine named in its header. No ratio is taken between columns (see {@link CROSS_MACHINE_NOTE}).
 */

/** Why a merged report divides no figure of one machine by a figure of another. */
export const CROSS_MACHINE_NOTE =
  'Cross-machine ratios are not computed: figures from different machines are not comparable as ratios (CPU, core count, memory, GPU, OS, Node, library builds and load all differ, and so does each run’s noise). Ratios are taken only between cells of one run, in its own section; across machines, read the absolute figures and their margins.';

const TASKS: CellTask[] = ['train', 'infer'];

/** Every model of the runs, in the order the runs list them. */
function modelsOf(runs: readonly MergedRun[]): string[] {
  return [...new Set(runs.flatMap((r) => r.result.options.models))];
}

/** The rows of the samples/s table: (task, model, backend, batch) measured in at least one run. */
function measuredKeys(
  runs: readonly MergedRun[],
): { task: CellTask; model: string; backend: string; batch: number }[] {
  const ok = runs.flatMap((r) => r.result.cells.filter((c) => c.status === 'ok'));
  const keys: { task: CellTask; model: string; backend: string; batch: number }[] = [];
  for (const task of TASKS) {
    for (const model of modelsOf(runs)) {
      for (const backend of ALL_BACKENDS) {
        const batches = [
          ...new Set(
            ok
              .filter((c) => c.task === task && c.model === model && c.backend === backend)
              .map((c) => c.batch),
          ),
        ].sort((a, b) => a - b);
        for (const batch of batches) keys.push({ task, model, backend, batch });
      }
    }
  }
  return keys;
}

/** Samples/s of every cell measured on at least one machine, with each run's margin. */
function speedAcross(runs: readonly MergedRun[], notes: Footnotes): string | undefined {
  const keys = measuredKeys(runs);
  if (keys.length === 0) return undefined;
  const rows = keys.map(({ task, model, backend, batch }) => [
    task,
    model,
    backend,
    String(batch),
    ...runs.map((r) => cellText(find(r.result, task, model, backend, batch), notes)),
  ]);
  return markdownTable(['task', 'model', 'backend', 'batch', ...runs.map((r) => r.label)], rows);
}

/** Batch-1 inference latency (p50 / p99 ms) of every cell measured on at least one machine. */
function latencyAcross(runs: readonly MergedRun[]): string | undefined {
  const timed = (c: CellResult | undefined): c is CellResult =>
    c?.status === 'ok' && c.latencyMs !== undefined;
  const rows: string[][] = [];
  for (const model of modelsOf(runs)) {
    for (const backend of ALL_BACKENDS) {
      const cells = runs.map((r) => find(r.result, 'infer', model, backend, 1));
      if (!cells.some(timed)) continue;
      rows.push([
        model,
        backend,
        ...cells.map((c) => (timed(c) ? `${ms(c.latencyMs!.p50)} / ${ms(c.latencyMs!.p99)}` : '')),
      ]);
    }
  }
  return rows.length > 0 ? markdownTable(['model', 'backend', ...runs.map((r) => r.label)], rows) : undefined;
}

/** Test accuracy through TensorFlow.js and ONNX, with the training budget each run gave it. */
function accuracyAcross(runs: readonly MergedRun[], notes: Footnotes): string | undefined {
  const models = modelsOf(runs).filter((m) =>
    runs.some((r) => r.result.accuracy.some((a) => a.model === m && a.status === 'ok')),
  );
  if (models.length === 0) return undefined;
  const rows = models.map((model) => [
    model,
    ...runs.map((r) => {
      const a = r.result.accuracy.find((x) => x.model === model);
      if (!a) return '';
      if (a.status !== 'ok') return `${a.status} [${notes.ref(a.reason ?? 'no reason given')}]`;
      const b = a.budget!;
      return `${pct(a.tfjsAccuracy!)} / ${pct(a.onnxAccuracy!)} (${b.epochs} × ${int(b.trainSamples)} images, ${int(a.testSamples!)} test)`;
    }),
  ]);
  return markdownTable(['model', ...runs.map((r) => r.label)], rows);
}

/** The cross-machine sections: samples/s, batch-1 latency, test accuracy (absolute figures only). */
export function crossMachineSections(runs: readonly MergedRun[], notes: Footnotes): ReportSection[] {
  return [
    {
      title:
        'Samples/s (tinybench: mean time of one step or call ± 95 % margin of error; wasm-1w / wasm-2w: epochs of `fit`, ± half their range)',
      body: [speedAcross(runs, notes)],
    },
    {
      title: 'Inference latency at batch 1 (tinybench: p50 / p99 of one call, ms)',
      body: [latencyAcross(runs)],
    },
    {
      title:
        'Test accuracy on the MNIST test set (TensorFlow.js / ONNX; epochs × training images of each run)',
      body: [accuracyAcross(runs, notes)],
    },
  ];
}
