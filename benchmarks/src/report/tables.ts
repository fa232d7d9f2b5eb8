import {
  ALL_BACKENDS,
  type BenchBackend,
  type BenchResult,
  type CellResult,
  type CellTask,
  FIT_BACKENDS,
  FIT_BASELINE_BACKEND,
  ORT_BACKENDS,
  PARALLEL_BACKEND,
  PYTORCH_BACKEND,
  TFJS_BACKENDS,
} from '../types.js';
import { cellText, type Footnotes, find, int, markdownTable, ms, okRate, pct, ratio } from './format.js';

/** Columns timed by tinybench, one iteration per step or call (the main tables). */
const STEP_BACKENDS = ALL_BACKENDS.filter((b) => !(b in FIT_BACKENDS));
/** Columns timed in epochs of `fit` (the `fit` table). */
const FIT_COLUMNS = ALL_BACKENDS.filter((b) => b in FIT_BACKENDS);

/** Backends of `among` with at least one measured cell of `task`, in table order. */
function columns(r: BenchResult, task: CellTask, among: readonly BenchBackend[]): BenchBackend[] {
  return among.filter((b) => r.cells.some((c) => c.task === task && c.backend === b && c.status === 'ok'));
}

/** One line naming the backends left out of a table because none of their cells ran, with the reasons. */
function leftOut(
  r: BenchResult,
  task: CellTask,
  among: readonly BenchBackend[],
  shown: BenchBackend[],
  notes: Footnotes,
): string | undefined {
  const out = among.filter(
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

/** The batch sizes of `task` cells of `among`, ascending. */
function batchesOf(r: BenchResult, task: CellTask, among: readonly BenchBackend[]): number[] {
  return [
    ...new Set(r.cells.filter((c) => c.task === task && among.includes(c.backend)).map((c) => c.batch)),
  ].sort((a, b) => a - b);
}

/** The reference samples/s a cell is compared with: PyTorch measured in this run, else published. */
export function referenceFor(
  r: BenchResult,
  task: CellTask,
  model: string,
  batch: number,
): { value: number; published: boolean } | undefined {
  const measured = okRate(find(r, task, model, PYTORCH_BACKEND, batch));
  if (measured) return { value: measured, published: false };
  const pub = r.reference.published?.find((p) => p.task === task && p.model === model && p.batch === batch);
  return pub ? { value: pub.samplesPerSec, published: true } : undefined;
}

/**
 * A measured cell's ratio to PyTorch: the median over its rounds where it was timed in rounds
 * alternating with PyTorch's same cell, else its samples/s ÷ the reference's ({@link referenceFor}).
 */
export function pytorchRatio(
  r: BenchResult,
  c: CellResult | undefined,
): { value: number; published: boolean } | undefined {
  const v = okRate(c);
  if (c === undefined || v === undefined) return undefined;
  if (c.paired) return { value: c.paired.median, published: false };
  const ref = referenceFor(r, c.task, c.model, c.batch);
  return ref ? { value: v / ref.value, published: ref.published } : undefined;
}

/** A cell's ratio to PyTorch, marked when the reference is a published figure; '' without one. */
function ratioText(r: BenchResult, c: CellResult | undefined): string {
  const x = pytorchRatio(r, c);
  return x ? `${ratio(x.value)}${x.published ? ' (published ref.)' : ''}` : '';
}

/** The line under a table saying which ratios were timed in rounds with PyTorch, if any were. */
function pairedLine(
  r: BenchResult,
  task: CellTask,
  among: readonly string[],
  each: string,
): string | undefined {
  const paired = r.cells.filter((c) => c.task === task && c.paired && among.includes(c.backend));
  if (paired.length === 0) return undefined;
  const backends = [...new Set(paired.map((c) => c.backend))].join(', ');
  const rounds = [...new Set(paired.map((c) => c.paired!.ratios.length))].sort((a, b) => a - b).join('–');
  return `Ratios of ${backends} are medians over ${rounds} ${each} PyTorch's same cell, so that both sides of a ratio see the machine seconds apart; the other columns divide samples/s by PyTorch's cell.`;
}

/** The main training or inference table: samples/s per step backend and the ratio to PyTorch. */
export function speedTable(r: BenchResult, task: CellTask, notes: Footnotes): string {
  const cols = columns(r, task, STEP_BACKENDS);
  const ratioCols = cols.filter((b) => b !== PYTORCH_BACKEND);
  const header = ['model', 'batch', ...cols, ...ratioCols.map((b) => `${b} ÷ PyTorch`)];
  const missing = leftOut(r, task, STEP_BACKENDS, cols, notes);
  const rows: string[][] = [];
  for (const model of r.options.models) {
    for (const batch of batchesOf(r, task, STEP_BACKENDS)) {
      const here = r.cells.filter((c) => c.task === task && c.model === model && c.batch === batch);
      if (!here.some((c) => STEP_BACKENDS.includes(c.backend))) continue;
      rows.push([
        model,
        String(batch),
        ...cols.map((b) => cellText(find(r, task, model, b, batch), notes)),
        ...ratioCols.map((b) => ratioText(r, find(r, task, model, b, batch))),
      ]);
    }
  }
  return [
    markdownTable(header, rows),
    pairedLine(r, task, STEP_BACKENDS, 'rounds, each timing the cell and then'),
    missing,
  ]
    .filter(Boolean)
    .join('\n\n');
}

/**
 * The `fit` table: epochs of `fit` with 1 and 2 workers, their ratio (the data-parallel speed-up),
 * and each column's ratio to PyTorch's training step in this run (the training throughput a
 * user's `fit` sees against PyTorch).
 */
export function fitTable(r: BenchResult, notes: Footnotes): string | undefined {
  if (!r.cells.some((c) => c.task === 'train' && FIT_COLUMNS.includes(c.backend))) return undefined;
  const cols = columns(r, 'train', FIT_COLUMNS);
  const both = cols.includes(FIT_BASELINE_BACKEND) && cols.includes(PARALLEL_BACKEND);
  const withRef = r.options.models.some((m) =>
    batchesOf(r, 'train', FIT_COLUMNS).some((b) => referenceFor(r, 'train', m, b)),
  );
  const ratioCols = withRef ? cols : [];
  const header = [
    'model',
    'batch',
    ...cols,
    ...(both ? [`${PARALLEL_BACKEND} ÷ ${FIT_BASELINE_BACKEND}`] : []),
    ...ratioCols.map((b) => `${b} ÷ PyTorch`),
  ];
  const rows: string[][] = [];
  for (const model of r.options.models) {
    for (const batch of batchesOf(r, 'train', FIT_COLUMNS)) {
      const cells = cols.map((b) => find(r, 'train', model, b, batch));
      if (cells.every((c) => c === undefined || c.status !== 'ok')) continue;
      const one = okRate(find(r, 'train', model, FIT_BASELINE_BACKEND, batch));
      const two = okRate(find(r, 'train', model, PARALLEL_BACKEND, batch));
      rows.push([
        model,
        String(batch),
        ...cells.map((c) => cellText(c, notes)),
        ...(both ? [one && two ? ratio(two / one) : ''] : []),
        ...ratioCols.map((b) => ratioText(r, find(r, 'train', model, b, batch))),
      ]);
    }
  }
  const missing = leftOut(r, 'train', FIT_COLUMNS, cols, notes);
  return [
    markdownTable(header, rows),
    pairedLine(r, 'train', FIT_COLUMNS, 'measured epochs, each followed by a round of'),
    missing,
  ]
    .filter(Boolean)
    .join('\n\n');
}

/** Batch-1 inference latency, p50 and p99 per step backend. */
export function latencyTable(r: BenchResult, notes: Footnotes): string {
  const cols = STEP_BACKENDS.filter((b) =>
    r.cells.some((c) => c.task === 'infer' && c.batch === 1 && c.backend === b && c.status === 'ok'),
  );
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

/** Test accuracy through TensorFlow.js and through the ONNX export, side by side. */
export function accuracyTable(r: BenchResult, notes: Footnotes): string {
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

/** The fastest TensorFlow.js backend (table order) with a measured cell of `task`. */
export function bestTfjs(r: BenchResult, task: CellTask = 'train'): BenchBackend | undefined {
  return TFJS_BACKENDS.find((b) =>
    r.cells.some((c) => c.backend === b && c.task === task && c.status === 'ok'),
  );
}

/** The onnxruntime provider with measured inference cells (CUDA first). */
export function bestOrt(r: BenchResult): BenchBackend | undefined {
  return ORT_BACKENDS.find((b) =>
    r.cells.some((c) => c.backend === b && c.task === 'infer' && c.status === 'ok'),
  );
}

/** The reports' questions: the same figures as the main tables, per pair of variants. */
export function reproductionTable(r: BenchResult): string | undefined {
  const tfb = bestTfjs(r);
  const rows: string[][] = [];
  const ok = (c: CellResult | undefined): string => {
    const v = okRate(c);
    return v ? int(v) : '—';
  };
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
      'train samples/s, b64, pytorch-cpu',
      'infer samples/s, b64, ort-cpu',
      'test acc. tfjs',
      'test acc. ONNX',
    ],
    rows,
  );
}
