import type { OnnxBenchRow } from '../onnx-bench.js';
import type { BenchResult } from '../types.js';
import { variantDescription } from '../variants.js';
import {
  cellText,
  type Footnotes,
  find,
  int,
  markdownTable,
  mib,
  ms,
  okRate,
  rateText,
  ratio,
} from './format.js';

/** The environment block of the report (machine paths are taken out when the report is rendered). */
export function environmentText(r: BenchResult): string {
  const e = r.env;
  const lines = [
    `- date: ${e.date}; profile: **${r.options.profile}**; duration ${r.durationSec} s`,
    `- machine: ${e.hostname ? `${e.hostname}: ` : ''}${e.cpuModel}, ${e.cores} cores, ${(e.totalMemoryMb / 1024).toFixed(1)} GiB, ${e.platform}${e.os ? ` (${e.os})` : ''}; Node ${e.node}`,
    `- load average (1/5/15 min): ${e.loadAverageStart.join(' / ')} at start, ${e.loadAverageEnd?.join(' / ') ?? '?'} at end`,
    `- packages: ${Object.entries(e.packages)
      .map(([k, v]) => (/^\d/.test(v) ? `${k}@${v}` : `${k} (${v})`))
      .join(', ')}`,
    ...Object.entries(e.backends).map(([k, v]) => `- TensorFlow.js ${k}: ${v}`),
    ...Object.entries(e.onnxProviders).map(([k, v]) => `- onnxruntime-node ${k}: ${v}`),
    `- PyTorch: ${e.pytorch}`,
    `- ratio column: ${r.reference.note}`,
  ];
  return lines.join('\n');
}

/** The variants of the run, one line each. */
export function variantsTable(r: BenchResult): string {
  return markdownTable(
    ['model', 'what it is'],
    r.options.models.map((m) => [m, variantDescription(m)]),
  );
}

/** What each measured cell allocated (see `CellMemory`), or undefined when no cell says. */
export function memoryTable(r: BenchResult): string | undefined {
  const cells = r.cells.filter((c) => c.status === 'ok' && c.memory);
  if (cells.length === 0) return undefined;
  const rows = cells.map((c) => {
    const m = c.memory!;
    return [
      c.id,
      mib(m.tensorMb),
      mib(m.peakTensorMb),
      mib(m.rssGrowthMb),
      m.leakedTensorsPerIteration !== undefined ? m.leakedTensorsPerIteration.toFixed(1) : '',
    ];
  });
  return markdownTable(
    [
      'cell',
      'tensors held after the timed iterations, MiB',
      'tensor peak in one iteration, MiB',
      'RSS growth across the cell, MiB',
      'tensors leaked / iteration',
    ],
    rows,
  );
}

/** The data-loading suite: time per run and the throughput it gives. */
export function dataLoadingText(r: BenchResult): string | undefined {
  const d = r.extras?.datasets;
  if (!d) return undefined;
  if (d.status !== 'ok') return `${d.status}: ${d.reason}`;
  return markdownTable(
    ['task', 'mean ms per run', 'p99 ms per run', 'runs', 'throughput (from the mean)'],
    d.result.map((row) => [
      row.task,
      ms(row.meanMs),
      ms(row.p99Ms),
      String(row.samples),
      `${int(row.value)} ${row.unit}`,
    ]),
  );
}

/** One figure of the threads table: its text and samples/s. */
interface ThreadFigure {
  text: string;
  value?: number;
}

/** The threads table as data: per batch size, the figure at each thread count (1 first). */
export interface ThreadsGrid {
  preset: string;
  threads: number[];
  rows: { batch: number; figures: ThreadFigure[] }[];
}

/**
 * The onnxruntime threads suite as a grid. The inference table's `ort-cpu` cell gives the figure
 * of the thread count it kept (one measurement, one number); the suite's rows fill in the rest.
 */
export function threadsGrid(r: BenchResult, notes: Footnotes): ThreadsGrid | undefined {
  const o = r.extras?.onnxThreads;
  if (o?.status !== 'ok') return undefined;
  const rep = o.result;
  const ort = rep.rows.filter((row) => row.runtime === 'onnxruntime');
  const threads = [...new Set([1, ...ort.map((row) => row.threads ?? 1)])].sort((a, b) => a - b);
  const batches = [...new Set(ort.map((row) => row.batch))].sort((a, b) => a - b);
  const figure = (t: number, batch: number): ThreadFigure => {
    const cell = find(r, 'infer', rep.preset, 'ort-cpu', batch);
    if (cell && (cell.threads ?? 1) === t) return { text: cellText(cell, notes), value: okRate(cell) };
    const row: OnnxBenchRow | undefined = ort.find((x) => (x.threads ?? 1) === t && x.batch === batch);
    return row ? { text: rateText(row.samplesPerSec, row.rme), value: row.samplesPerSec } : { text: '' };
  };
  return {
    preset: rep.preset,
    threads,
    rows: batches.map((batch) => ({ batch, figures: threads.map((t) => figure(t, batch)) })),
  };
}

/** The onnxruntime threads table (see {@link threadsGrid}), or why the suite did not run. */
export function threadsText(r: BenchResult, notes: Footnotes): string | undefined {
  const o = r.extras?.onnxThreads;
  if (!o) return undefined;
  if (o.status !== 'ok') return `${o.status}: ${o.reason}`;
  const grid = threadsGrid(r, notes)!;
  const name = (t: number): string => (t === 1 ? 'ort-cpu, 1 thread' : `ort-cpu, ${t} threads`);
  const others = grid.threads.slice(1);
  const rows = grid.rows.map(({ batch, figures: [one, ...rest] }) => [
    grid.preset,
    String(batch),
    one.text,
    ...rest.map((x) => x.text),
    ...rest.map((x) => (one.value && x.value ? ratio(x.value / one.value) : '')),
  ]);
  return markdownTable(
    ['model', 'batch', name(1), ...others.map(name), ...others.map((t) => `${t} threads ÷ 1`)],
    rows,
  );
}
