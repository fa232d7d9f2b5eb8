import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '@lenet/common';
import { barChart } from '@lenet/metrics';
import {
  ALL_BACKENDS,
  type BenchBackend,
  type BenchResult,
  type CellResult,
  type CellTask,
  PYTORCH_BACKEND,
  TFJS_BACKENDS,
} from './types.js';
import { variantDescription } from './variants.js';

const int = (v: number): string => Math.round(v).toLocaleString('en-US');
const pct = (v: number, digits = 2): string => `${(v * 100).toFixed(digits)}%`;
const ms = (v: number): string => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));

/** Formats a table in GitHub markdown. */
export function markdownTable(header: string[], rows: string[][]): string {
  const esc = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const lines = [`| ${header.map(esc).join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`];
  for (const r of rows) lines.push(`| ${r.map(esc).join(' | ')} |`);
  return lines.join('\n');
}

/** Numbers skip/fail reasons so tables can show `skipped [1]` and list the reasons once. */
class Footnotes {
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

function find(
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

function cellText(c: CellResult | undefined, notes: Footnotes): string {
  if (!c) return '';
  if (c.status !== 'ok') return `${c.status} [${notes.ref(c.reason ?? 'no reason given')}]`;
  return `${int(c.samplesPerSec ?? 0)} ±${(c.rme ?? 0).toFixed(0)}%`;
}

/** Backends with at least one measured cell of `task` (optionally at one batch size), in table order. */
function columns(r: BenchResult, task: CellTask, batch?: number): BenchBackend[] {
  return ALL_BACKENDS.filter((b) =>
    r.cells.some(
      (c) =>
        c.task === task && c.backend === b && c.status === 'ok' && (batch === undefined || c.batch === batch),
    ),
  );
}

/** One line naming the backends left out of a table because none of their cells ran, with the reasons. */
function leftOut(
  r: BenchResult,
  task: CellTask,
  shown: BenchBackend[],
  notes: Footnotes,
): string | undefined {
  const out = ALL_BACKENDS.filter(
    (b) => !shown.includes(b) && r.cells.some((c) => c.task === task && c.backend === b),
  );
  if (out.length === 0) return undefined;
  const parts = out.map((b) => {
    const reasons = [
      ...new Set(r.cells.filter((c) => c.task === task && c.backend === b).map((c) => c.reason ?? c.status)),
    ];
    return `${b} ${reasons.map((x) => `[${notes.ref(x)}]`).join('')}`;
  });
  return `Not measured (every cell skipped or failed): ${parts.join(', ')}.`;
}

/** The reference samples/s a cell is compared with: PyTorch measured in this run, else published. */
function referenceFor(
  r: BenchResult,
  task: CellTask,
  model: string,
  batch: number,
): { value: number; published: boolean } | undefined {
  const measured = find(r, task, model, PYTORCH_BACKEND, batch);
  if (measured?.status === 'ok' && measured.samplesPerSec)
    return { value: measured.samplesPerSec, published: false };
  const pub = r.reference.published?.find((p) => p.task === task && p.model === model && p.batch === batch);
  return pub ? { value: pub.samplesPerSec, published: true } : undefined;
}

function speedTable(r: BenchResult, task: CellTask, notes: Footnotes): string {
  const cols = columns(r, task);
  const batches = [...new Set(r.cells.filter((c) => c.task === task).map((c) => c.batch))].sort(
    (a, b) => a - b,
  );
  const ratioCols = cols.filter(
    (b) =>
      b !== PYTORCH_BACKEND && r.cells.some((c) => c.task === task && c.backend === b && c.status === 'ok'),
  );
  const header = ['model', 'batch', ...cols, ...ratioCols.map((b) => `${b} ÷ PyTorch`)];
  const missing = leftOut(r, task, cols, notes);
  const rows: string[][] = [];
  for (const model of r.options.models) {
    for (const batch of batches) {
      if (!r.cells.some((c) => c.task === task && c.model === model && c.batch === batch)) continue;
      const ref = referenceFor(r, task, model, batch);
      rows.push([
        model,
        String(batch),
        ...cols.map((b) => cellText(find(r, task, model, b, batch), notes)),
        ...ratioCols.map((b) => {
          const c = find(r, task, model, b, batch);
          if (!ref || c?.status !== 'ok' || !c.samplesPerSec) return '';
          return `${(c.samplesPerSec / ref.value).toFixed(3)}${ref.published ? ' (published ref.)' : ''}`;
        }),
      ]);
    }
  }
  return missing ? `${markdownTable(header, rows)}\n\n${missing}` : markdownTable(header, rows);
}

function latencyTable(r: BenchResult, notes: Footnotes): string {
  const cols = columns(r, 'infer', 1);
  const rows = r.options.models
    .filter((m) => r.cells.some((c) => c.task === 'infer' && c.batch === 1 && c.model === m))
    .map((model) => [
      model,
      ...cols.map((b) => {
        const c = find(r, 'infer', model, b, 1);
        if (!c) return '';
        if (c.status !== 'ok' || !c.latencyMs) return `${c.status} [${notes.ref(c.reason ?? '')}]`;
        return `${ms(c.latencyMs.p50)} / ${ms(c.latencyMs.p99)}`;
      }),
    ]);
  return markdownTable(['model', ...cols.map((b) => `${b} p50 / p99 ms`)], rows);
}

function accuracyTable(r: BenchResult, notes: Footnotes): string {
  const rows = r.accuracy.map((a) => {
    if (a.status !== 'ok') return [a.model, `${a.status} [${notes.ref(a.reason ?? '')}]`, '', '', '', ''];
    const b = a.budget!;
    return [
      a.model,
      `${b.epochs} epoch${b.epochs > 1 ? 's' : ''} × ${int(b.trainSamples)} images, batch ${b.batch}, ${b.backend}, ${b.seconds.toFixed(0)} s`,
      `${pct(a.tfjsAccuracy!)} (${int(a.testSamples!)} test)`,
      `${pct(a.onnxAccuracy!)} (${a.onnxProvider})`,
      pct(a.disagreement!, 2),
      a.maxAbsDiff!.toExponential(1),
    ];
  });
  return markdownTable(
    [
      'model',
      'training budget',
      'test accuracy, TensorFlow.js',
      'test accuracy, ONNX',
      'predictions differ',
      'max |Δp|',
    ],
    rows,
  );
}

/** The reports' questions: which pairs of variants answer them. */
export const REPRODUCTIONS: { question: string; variants: string[] }[] = [
  { question: 'BatchNorm on/off (3 conv + 3 FC)', variants: ['torch-bn', 'torch-nobn'] },
  { question: 'BatchNorm on/off (Keras baseline)', variants: ['keras-bn', 'keras-baseline'] },
  {
    question: 'shallower / baseline / deeper (Keras)',
    variants: ['keras-shallow', 'keras-baseline', 'keras-deep'],
  },
  { question: 'dropout on/off (3 conv + 3 FC, BN)', variants: ['torch-bn', 'torch-bn-nodropout'] },
  { question: '3 conv vs 2 conv (3 FC, BN)', variants: ['torch-bn', 'torch-2conv3fc'] },
  { question: '2 conv + 3 FC vs 2 conv + 2 FC', variants: ['torch-2conv3fc', 'torch-2conv2fc'] },
];

/** The fastest TensorFlow.js backend that has a measured training cell. */
function bestTfjs(r: BenchResult): BenchBackend | undefined {
  return TFJS_BACKENDS.find((b) =>
    r.cells.some((c) => c.backend === b && c.task === 'train' && c.status === 'ok'),
  );
}

function reproductionTable(r: BenchResult): string | undefined {
  const tfb = bestTfjs(r);
  const rows: string[][] = [];
  const ok = (c: CellResult | undefined): string => (c?.status === 'ok' ? int(c.samplesPerSec ?? 0) : '—');
  for (const q of REPRODUCTIONS) {
    if (!q.variants.every((v) => r.options.models.includes(v))) continue;
    for (const v of q.variants) {
      const acc = r.accuracy.find((a) => a.model === v);
      rows.push([
        q.question,
        v,
        tfb ? ok(find(r, 'train', v, tfb, 64)) : '—',
        ok(find(r, 'train', v, PYTORCH_BACKEND, 64)),
        ok(find(r, 'infer', v, 'ort-cpu', 64)),
        acc?.status === 'ok' ? pct(acc.tfjsAccuracy!) : '—',
        acc?.status === 'ok' ? pct(acc.onnxAccuracy!) : '—',
      ]);
    }
  }
  if (rows.length === 0) return undefined;
  return markdownTable(
    [
      'question',
      'variant',
      `train samples/s, b64, ${tfb ?? 'tfjs'}`,
      'train samples/s, b64, PyTorch',
      'infer samples/s, b64, ort-cpu',
      'test acc. tfjs',
      'test acc. ONNX',
    ],
    rows,
  );
}

function memoryTable(r: BenchResult): string {
  const rows = r.cells
    .filter((c) => c.status === 'ok' && c.memory)
    .map((c) => [
      c.id,
      c.memory!.peakRssMb.toFixed(0),
      c.memory!.numTensors !== undefined ? String(c.memory!.numTensors) : '',
      c.memory!.leakedTensorsPerIteration !== undefined ? c.memory!.leakedTensorsPerIteration.toFixed(1) : '',
    ]);
  return markdownTable(['cell', 'peak RSS MiB', 'tensors held', 'tensors leaked / iteration'], rows);
}

function extrasText(r: BenchResult): string[] {
  const parts: string[] = [];
  const d = r.extras?.datasets;
  if (d) {
    parts.push('## Data loading and batching (@lenet/datasets, datasets-bench)', '');
    if (d.status !== 'ok') parts.push(`${d.status}: ${d.reason}`, '');
    else {
      parts.push(
        markdownTable(
          ['task', 'mean ms', 'p99 ms', 'iterations', 'throughput'],
          d.result.map((row) => [
            row.task,
            ms(row.meanMs),
            ms(row.p99Ms),
            String(row.samples),
            `${int(row.value)} ${row.unit}`,
          ]),
        ),
        '',
      );
    }
  }
  const o = r.extras?.onnxThreads;
  if (o) {
    parts.push('## onnxruntime threads against TensorFlow.js (onnx-bench)', '');
    if (o.status !== 'ok') parts.push(`${o.status}: ${o.reason}`, '');
    else {
      const rep = o.result;
      parts.push(
        `Preset ${rep.preset}, TensorFlow.js on ${rep.tfjsBackend}; load average ${rep.load.map((v) => v.toFixed(2)).join(' → ')}.`,
        '',
        markdownTable(
          ['runtime', 'settings', 'batch', 'samples/s (mean)', 'samples/s (median)', 'p50 ms', 'p99 ms'],
          rep.rows.map((row) => [
            row.runtime,
            row.config,
            String(row.batch),
            int(row.samplesPerSec),
            int(row.samplesPerSecP50),
            ms(row.p50Ms),
            ms(row.p99Ms),
          ]),
        ),
        '',
      );
    }
  }
  return parts;
}

/** The environment block of the report. */
export function environmentText(r: BenchResult): string {
  const e = r.env;
  const lines = [
    `- date: ${e.date}; profile: **${r.options.profile}**; duration ${r.durationSec} s`,
    `- machine: ${e.cpuModel}, ${e.cores} cores, ${(e.totalMemoryMb / 1024).toFixed(1)} GiB, ${e.platform}; Node ${e.node}`,
    `- load average (1/5/15 min): ${e.loadAverageStart.join(' / ')} at start, ${e.loadAverageEnd?.join(' / ') ?? '?'} at end`,
    `- packages: ${Object.entries(e.packages)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
    ...Object.entries(e.backends).map(([k, v]) => `- TensorFlow.js ${k}: ${v}`),
    ...Object.entries(e.onnxProviders).map(([k, v]) => `- onnxruntime-node ${k}: ${v}`),
    `- PyTorch: ${e.pytorch}`,
    `- ratio column: ${r.reference.note}`,
  ];
  return lines.join('\n');
}

/** The whole markdown report; the summary tables come last. */
export function renderMarkdown(r: BenchResult): string {
  const notes = new Footnotes();
  const parts = [`# LeNet benchmark (${r.options.profile} profile)`, '', environmentText(r), ''];
  if (r.cells.some((c) => c.memory)) parts.push('## Memory per cell', '', memoryTable(r), '');
  parts.push(...extrasText(r));
  parts.push('## Variants', '');
  parts.push(
    markdownTable(
      ['model', 'what it is'],
      r.options.models.map((m) => [m, variantDescription(m)]),
    ),
    '',
  );
  if (r.cells.some((c) => c.task === 'train')) {
    parts.push(
      '## Training: samples/s (mean ± relative margin of error)',
      '',
      speedTable(r, 'train', notes),
      '',
    );
  }
  if (r.cells.some((c) => c.task === 'infer')) {
    parts.push(
      '## Inference: samples/s (mean ± relative margin of error)',
      '',
      speedTable(r, 'infer', notes),
      '',
    );
    if (r.cells.some((c) => c.task === 'infer' && c.batch === 1)) {
      parts.push('## Inference latency at batch 1', '', latencyTable(r, notes), '');
    }
  }
  if (r.accuracy.length > 0)
    parts.push('## Test accuracy on the MNIST test set', '', accuracyTable(r, notes), '');
  const repro = reproductionTable(r);
  if (repro) parts.push("## The reference reports' questions", '', repro, '');
  if (notes.size > 0) parts.push('### Why cells were skipped', '', notes.render(), '');
  if (r.notes.length > 0) parts.push('### Notes', '', ...r.notes.map((n) => `- ${n}`), '');
  return parts.join('\n');
}

/** Charts of a run: training and inference samples/s at batch 64, and accuracy (SVG + PNG). */
export async function writeCharts(r: BenchResult, dir: string): Promise<string[]> {
  const written: string[] = [];
  const speed = async (task: CellTask, batch: number, file: string, title: string): Promise<void> => {
    const runs = r.cells
      .filter((c) => c.task === task && c.batch === batch && c.status === 'ok' && c.samplesPerSec)
      .map((c) => ({ group: c.model, name: c.backend, value: Math.round(c.samplesPerSec!) }));
    if (runs.length === 0) return;
    const width = Math.max(640, 60 * new Set(runs.map((x) => x.group)).size + 160);
    await barChart(runs, { title, yLabel: 'samples / s', width, height: 400 }).write({
      svg: join(dir, `${file}.svg`),
      png: join(dir, `${file}.png`),
    });
    written.push(`${file}.svg`, `${file}.png`);
  };
  await speed('train', 64, 'train-b64', `Training samples/s at batch 64 (${r.options.profile} profile)`);
  await speed('infer', 64, 'infer-b64', `Inference samples/s at batch 64 (${r.options.profile} profile)`);
  await speed('infer', 1, 'infer-b1', `Inference samples/s at batch 1 (${r.options.profile} profile)`);
  const acc = r.accuracy
    .filter((a) => a.status === 'ok')
    .flatMap((a) => [
      { group: a.model, name: 'TensorFlow.js', value: a.tfjsAccuracy! },
      { group: a.model, name: 'ONNX Runtime', value: a.onnxAccuracy! },
    ]);
  if (acc.length > 0) {
    await barChart(acc, {
      title: `Test accuracy after the ${r.options.profile} profile's training budget`,
      yLabel: 'test accuracy',
      width: Math.max(640, 60 * (acc.length / 2) + 160),
      height: 400,
    }).write({ svg: join(dir, 'accuracy.svg'), png: join(dir, 'accuracy.png') });
    written.push('accuracy.svg', 'accuracy.png');
  }
  return written;
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
  let md = renderMarkdown(r);
  if (charts.length > 0) {
    md += `\n## Charts\n\n${charts
      .filter((c) => c.endsWith('.svg'))
      .map((c) => `![${c}](charts/${c})`)
      .join('\n\n')}\n`;
  }
  await writeFileAtomic(join(dir, 'results.json'), `${JSON.stringify(r, null, 2)}\n`);
  await writeFileAtomic(join(dir, 'results.md'), md);
  return md;
}
