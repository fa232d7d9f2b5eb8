import { median } from '../measure.js';
import {
  type BenchBackend,
  type BenchResult,
  type CellTask,
  FIT_BASELINE_BACKEND,
  PARALLEL_BACKEND,
} from '../types.js';
import { threadsGrid } from './details.js';
import { Footnotes, find, int, okRate, pct, ratio } from './format.js';
import { bestOrt, bestTfjs, pytorchRatio } from './tables.js';

/** `0.597`, or `median 0.634 (0.356–1.153, 12 variants)`: the spread of one question's ratios. */
function spread(values: number[]): string {
  const v = [...values].sort((a, b) => a - b);
  if (v.length === 1) return ratio(v[0]);
  return `median ${ratio(median(v))} (${ratio(v[0])}–${ratio(v[v.length - 1])}, ${v.length} variants)`;
}

/** Batch sizes that `task` cells of `backend` were measured at, ascending. */
function batchesOf(r: BenchResult, task: CellTask, backend: BenchBackend): number[] {
  return [
    ...new Set(r.cells.filter((c) => c.task === task && c.backend === backend).map((c) => c.batch)),
  ].sort((a, b) => a - b);
}

/**
 * `batch 64: …; batch 256: …` for `value(model, batch)` of every variant where it has one, or
 * undefined when no batch has any.
 */
function ratiosByBatch(
  r: BenchResult,
  task: CellTask,
  num: BenchBackend,
  value: (model: string, batch: number) => number | undefined,
): string | undefined {
  const parts: string[] = [];
  for (const batch of batchesOf(r, task, num)) {
    const values = r.options.models.flatMap((m) => {
      const v = value(m, batch);
      return v ? [v] : [];
    });
    if (values.length > 0) parts.push(`batch ${batch}: ${spread(values)}`);
  }
  return parts.length > 0 ? parts.join('; ') : undefined;
}

/** `num ÷ den` samples/s of every variant measured in both, by batch (see {@link ratiosByBatch}). */
function quotientsByBatch(
  r: BenchResult,
  task: CellTask,
  num: BenchBackend,
  den: BenchBackend,
): string | undefined {
  return ratiosByBatch(r, task, num, (m, b) => {
    const a = okRate(find(r, task, m, num, b));
    const d = okRate(find(r, task, m, den, b));
    return a && d ? a / d : undefined;
  });
}

/** Ratios to PyTorch as the tables give them ({@link pytorchRatio}); the line says where a reference was published. */
function toPytorch(r: BenchResult, task: CellTask, backend: BenchBackend): string | undefined {
  let published = false;
  const line = ratiosByBatch(r, task, backend, (m, b) => {
    const x = pytorchRatio(r, find(r, task, m, backend, b));
    if (x?.published) published = true;
    return x?.value;
  });
  if (!line) return undefined;
  return published ? `${line}; against the issue's published PyTorch figures (another machine)` : line;
}

/**
 * The report's opening: one line per question, with the headline ratios taken from the same cells
 * (and written with the same formatting) as the tables below.
 */
export function summaryLines(r: BenchResult): string[] {
  const lines: string[] = [];
  const add = (question: string, answer: string | undefined): void => {
    if (answer) lines.push(`- **${question}**: ${answer}`);
  };
  const tfTrain = bestTfjs(r, 'train');
  if (tfTrain) add(`Training, ${tfTrain} ÷ PyTorch CPU (samples/s per step)`, toPytorch(r, 'train', tfTrain));
  add(
    `Training through fit, ${FIT_BASELINE_BACKEND} ÷ PyTorch CPU (fit epochs with validation vs PyTorch steps)`,
    toPytorch(r, 'train', FIT_BASELINE_BACKEND),
  );
  add(
    `Data-parallel training, ${PARALLEL_BACKEND} ÷ ${FIT_BASELINE_BACKEND} (fit epochs, 2 workers vs 1)`,
    quotientsByBatch(r, 'train', PARALLEL_BACKEND, FIT_BASELINE_BACKEND),
  );
  const tfInfer = bestTfjs(r, 'infer');
  const ort = bestOrt(r);
  if (ort && tfInfer) {
    add(
      `Inference, ONNX Runtime (${ort}) ÷ TensorFlow.js (${tfInfer})`,
      quotientsByBatch(r, 'infer', ort, tfInfer),
    );
  }
  if (tfInfer) add(`Inference, ${tfInfer} ÷ PyTorch CPU (predict's pass)`, toPytorch(r, 'infer', tfInfer));
  if (ort) add(`Inference, ${ort} ÷ PyTorch CPU`, toPytorch(r, 'infer', ort));
  const acc = r.accuracy.filter((a) => a.status === 'ok');
  if (acc.length > 0) {
    const worst = acc.reduce((a, b) => (b.disagreement! > a.disagreement! ? b : a));
    const diff = Math.max(...acc.map((a) => a.maxAbsDiff!));
    const n = `${acc.length} variant${acc.length > 1 ? 's' : ''}`;
    add(
      'ONNX export against TensorFlow.js',
      worst.disagreement === 0
        ? `the same predicted class on every test image for ${acc.length === 1 ? acc[0].model : `all ${n}`}; probabilities within ${diff.toExponential(1)}`
        : `predictions differ on at most ${pct(worst.disagreement!)} of the test images (${worst.model}) over ${n}; probabilities within ${diff.toExponential(1)}`,
    );
    const lo = acc.reduce((a, b) => (b.tfjsAccuracy! < a.tfjsAccuracy! ? b : a));
    const hi = acc.reduce((a, b) => (b.tfjsAccuracy! > a.tfjsAccuracy! ? b : a));
    const budget = lo.budget!;
    add(
      `Test accuracy after ${budget.epochs} epoch${budget.epochs > 1 ? 's' : ''} on ${int(budget.trainSamples)} images`,
      lo === hi
        ? `${pct(lo.tfjsAccuracy!)} (${lo.model})`
        : `${pct(lo.tfjsAccuracy!)} (${lo.model}) to ${pct(hi.tfjsAccuracy!)} (${hi.model})`,
    );
  }
  const grid = threadsGrid(r, new Footnotes());
  if (grid && grid.threads.length > 1) {
    const parts = grid.rows.flatMap(({ batch, figures: [one, ...rest] }) =>
      rest.every((x) => x.value && one.value)
        ? [`batch ${batch}: ${rest.map((x) => ratio(x.value! / one.value!)).join(' / ')}`]
        : [],
    );
    add(
      `onnxruntime, ${grid.threads.slice(1).join(' / ')} intra-op threads ÷ 1 (${grid.preset})`,
      parts.join('; ') || undefined,
    );
  }
  const d = r.extras?.datasets;
  if (d?.status === 'ok' && d.result.length > 0) {
    const load = d.result[0];
    const batching = d.result.find((row) => row.unit === 'batches/s');
    add(
      'Data loading',
      `${load.task} at ${int(load.value)} ${load.unit}${batching ? `; batching at ${int(batching.value)} ${batching.unit} (${batching.task.replace(/^batches /, '')})` : ''}`,
    );
  }
  const trainMem = r.cells.filter(
    (c) => c.task === 'train' && c.memory?.leakedTensorsPerIteration !== undefined,
  );
  if (trainMem.length > 0) {
    const leaking = trainMem.filter((c) => c.memory!.leakedTensorsPerIteration! > 0);
    add(
      'Tensor leaks',
      leaking.length === 0
        ? `none (0 tensors left per step in ${trainMem.length === 1 ? 'the training cell' : `all ${trainMem.length} training cells`})`
        : `${leaking.length} of ${trainMem.length} training cells leave tensors behind: ${leaking.map((c) => c.id).join(', ')}`,
    );
  }
  return lines;
}
