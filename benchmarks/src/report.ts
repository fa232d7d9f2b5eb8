import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '@lenet/common';
import { REPO_ROOT } from './env.js';
import { ERROR_BARS, writeCharts } from './report/charts.js';
import {
  dataLoadingText,
  environmentText,
  memoryTable,
  threadsText,
  variantsTable,
} from './report/details.js';
import { Footnotes } from './report/format.js';
import { withoutMachinePaths } from './report/paths.js';
import { summaryLines } from './report/summary.js';
import { accuracyTable, fitTable, latencyTable, reproductionTable, speedTable } from './report/tables.js';
import type { BenchResult } from './types.js';

export { markdownTable } from './report/format.js';

/** The heading of every section that leads the report. */
export const SUMMARY_HEADING = '## Summary';

/** One line on where and when: the date, the machine, whether a GPU ran, and how busy it was. */
export function measuredOn(r: BenchResult): string {
  const e = r.env;
  const gpu = r.cells.some(
    (c) => (c.backend === 'tensorflow-gpu' || c.backend === 'ort-cuda') && c.status === 'ok',
  );
  const load = [e.loadAverageStart[0], e.loadAverageEnd?.[0]].filter((v) => v !== undefined);
  const busy = Math.max(...load) > e.cores;
  return [
    `Measured ${e.date.slice(0, 10)} with the **${r.options.profile}** profile (${Math.round(r.durationSec)} s) on ${e.cpuModel}, ${e.cores} cores, ${gpu ? 'with a GPU' : 'no GPU'}, Node ${e.node}.`,
    `1-minute load average ${load.join(' → ')}${busy ? ': the machine was shared and busy, so figures are low and noisy' : ''}.`,
  ].join(' ');
}

/** The title, the measuring line and the summary: what `pnpm bench` prints at the end. */
export function renderSummary(r: BenchResult): string {
  const lines = summaryLines(r);
  const md = [
    `# LeNet benchmark (${r.options.profile} profile)`,
    '',
    measuredOn(r),
    '',
    SUMMARY_HEADING,
    '',
    ...(lines.length > 0 ? lines : ['- nothing was measured that answers a question (see the tables)']),
    '',
  ].join('\n');
  return withoutMachinePaths(md, REPO_ROOT);
}

/** A part of a report: its heading (without the `#`s) and its paragraphs (undefined ones left out). */
export interface ReportSection {
  title: string;
  body: (string | undefined)[];
}

/**
 * The main tables of one run, in report order: training, data-parallel training, inference,
 * latency, accuracy, the reference reports' questions. Every ratio in them is between two cells
 * of this run. `notes` collects the reasons of skipped cells.
 */
export function tableSections(r: BenchResult, notes: Footnotes): ReportSection[] {
  const out: ReportSection[] = [];
  if (r.cells.some((c) => c.task === 'train')) {
    out.push({
      title: 'Training: samples/s (tinybench: mean time of one training step ± 95 % margin of error)',
      body: [speedTable(r, 'train', notes)],
    });
  }
  out.push({
    title:
      'Training through `fit`: samples/s (epochs of `fit` on wasm with 1 and 2 workers, validation included: training images ÷ epoch wall time, mean of the measured epochs ± half their range; ÷ PyTorch: its training step in this run, no validation)',
    body: [fitTable(r, notes)],
  });
  if (r.cells.some((c) => c.task === 'infer')) {
    out.push({
      title: 'Inference: samples/s (tinybench: mean time of one `predict` call ± 95 % margin of error)',
      body: [speedTable(r, 'infer', notes)],
    });
    if (r.cells.some((c) => c.task === 'infer' && c.batch === 1)) {
      out.push({
        title: 'Inference latency at batch 1 (tinybench: p50 / p99 of one call, ms)',
        body: [latencyTable(r, notes)],
      });
    }
  }
  if (r.accuracy.length > 0) {
    out.push({ title: 'Test accuracy on the MNIST test set', body: [accuracyTable(r, notes)] });
  }
  out.push({
    title: "The reference reports' questions (the figures of the tables above)",
    body: [reproductionTable(r)],
  });
  return out;
}

/** Appends `heading` and the defined paragraphs of `body` to `parts`, or nothing when none is. */
export function pushSection(parts: string[], heading: string, body: (string | undefined)[]): void {
  const text = body.filter((b) => b !== undefined);
  if (text.length > 0) parts.push(heading, '', ...text.flatMap((t) => [t, '']));
}

/**
 * The whole markdown report: the summary first, then the main tables (training, data-parallel
 * training, inference, latency, accuracy, the reference reports' questions), the charts, and the
 * details (environment, memory, data loading, onnxruntime threads, variants, skip reasons, notes).
 * Each measurement appears with one number; every table says how its figures were taken. No
 * machine path is left in it.
 */
export function renderMarkdown(r: BenchResult, charts: readonly string[] = []): string {
  const notes = new Footnotes();
  const parts = [renderSummary(r)];
  const section = (heading: string, ...body: (string | undefined)[]): void =>
    pushSection(parts, heading, body);
  for (const s of tableSections(r, notes)) section(`## ${s.title}`, ...s.body);
  const svgs = charts.filter((c) => c.endsWith('.svg'));
  if (svgs.length > 0) {
    section('## Charts', `Error bars: ${ERROR_BARS}.`, ...svgs.map((c) => `![${c}](charts/${c})`));
  }
  parts.push('## Details', '');
  section('### Environment', environmentText(r));
  const memory = memoryTable(r);
  if (memory) {
    section(
      '### Memory per cell',
      'What each cell itself allocated, measured across the cell: tensor bytes from `tf.memory()` (what it still held after its timed iterations: weights, optimizer state) and `tf.profile` (the peak during one more, untimed iteration: with activations and gradients), and the growth of the process RSS (its peak during the cell minus its value when the cell started). RSS growth is a lower bound: memory that earlier cells grew and released — the wasm heap never shrinks — is reused first. onnxruntime and `fit` cells have RSS growth only.',
      memory,
    );
  }
  section('### Data loading and batching (@lenet/datasets, datasets-bench)', dataLoadingText(r));
  section(
    '### onnxruntime intra-op threads (onnx-bench; tinybench: mean time of one call ± 95 % margin of error)',
    r.extras?.onnxThreads?.status === 'ok'
      ? "The inference table's `ort-cpu` cells keep the faster of 1 intra-op thread and one per core (as the PyTorch column): where that cell exists, its figure is repeated here at the thread count it ran, not measured again."
      : undefined,
    threadsText(r, notes),
  );
  section('### Variants', variantsTable(r));
  if (notes.size > 0) section('### Why cells were skipped', notes.render());
  if (r.notes.length > 0) section('### Notes', r.notes.map((n) => `- ${n}`).join('\n'));
  return withoutMachinePaths(parts.join('\n'), REPO_ROOT);
}

/** Writes results.json, results.md and the charts into the run directory; returns the markdown. */
export async function writeRunDir(r: BenchResult, dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  let charts: string[] = [];
  try {
    charts = await writeCharts(r, join(dir, 'charts'));
  } catch (err) {
    r.notes.push(`charts not written: ${err instanceof Error ? err.message : String(err)}`);
  }
  const md = renderMarkdown(r, charts);
  await writeFileAtomic(join(dir, 'results.json'), `${JSON.stringify(r, null, 2)}\n`);
  await writeFileAtomic(join(dir, 'results.md'), md);
  return md;
}
