import { join } from 'node:path';
import { plural, writeFileAtomic } from '@lenet/common';
import type { Dataset } from '@lenet/datasets';
import type { PrecisionRecallF1Result } from '@lenet/metrics';
import type { ModelSpec } from '@lenet/models';
import type { EpochLogs, LearningRateRecord } from '@lenet/train';
import { describeData, type ReportedRun, reportedRecipe, reproduceCommand } from './run-description.js';

export type { ReportedRun } from './run-description.js';

/** What a finished training run hands to {@link writeRunReport}. */
export interface RunReportInput {
  spec: ModelSpec;
  adaptations: string[];
  /** The backend that ran. */
  backend: string;
  /** What the run was given (recipe, data directory, limit, flags). */
  run: ReportedRun;
  history: readonly EpochLogs[];
  /** The learning rate at every step (a `learningRateLogger({ every: 'step' })`'s records). */
  learningRates?: readonly LearningRateRecord[];
  stopped: { reason: string; epoch: number } | null;
  seconds: number;
  /** The training images after `--limit` (before the validation split), and how many there were before it. */
  train: Dataset;
  trainTotal: number;
  test: Dataset;
  testAccuracy: number;
  testLoss: number;
  predictions: Int32Array;
  /** Test-set class probabilities, row-major `count × classes`. */
  probabilities: Float32Array;
  onnxAccuracy?: number;
}

const pct = (x: number) => `${(x * 100).toFixed(2)}%`;

/** Grid size of the sample predictions: 4 rows of 8. */
const GRID_IMAGES = 32;
/** Points drawn of the per-step learning rate (every k-th step beyond this). */
const LR_POINTS = 1000;

/**
 * Writes the run's plots (SVG + PNG) and a `report.md` that shows them: the result, how to run it
 * again, the history with its curves and learning rate, per-class scores, the confusion matrix,
 * the sample predictions (mistakes first) and the model.
 */
export async function writeRunReport(dir: string, r: RunReportInput): Promise<void> {
  const metrics = await import('@lenet/metrics');
  const { summary } = await import('@lenet/models');
  const classNames = r.test.classNames;
  const cm = new metrics.ConfusionMatrix(classNames.length);
  cm.updateLabels(r.predictions, r.test.labels);
  const cmResult = cm.compute();

  // A run interrupted during its first epoch has no finished epoch to draw.
  const curves = r.history.length > 0;
  if (curves) await writeCurves(dir, r);
  const lr = await writeLearningRate(dir, r);
  await metrics
    .confusionHeatmap(cmResult, classNames, { title: 'Confusion matrix, test set' })
    .write(join(dir, 'confusion'));
  const samples = await writeSamples(dir, r);

  const s = summary(r.spec);
  const recipe = r.run.recipe;
  const reproduce =
    typeof r.run.reportFlags.reproduce === 'string'
      ? ` (run "${String(r.run.reportFlags.run)}" of report ${r.run.reportFlags.reproduce})`
      : '';
  const md = `# Run: ${r.spec.name}

- model: \`${r.spec.name}\`, ${s.totalParams.toLocaleString('en-US')} parameters (${s.torchParams.toLocaleString('en-US')} in torchsummary's count)${
    r.adaptations.length ? `\n- adapted: ${r.adaptations.join('; ')}` : ''
  }
- data: ${await describeData(r.run, { train: r.train.count, trainTotal: r.trainTotal, test: r.test.count })}
- backend: ${r.backend}
- seed: ${recipe.seed} (weights, shuffling, augmentation, dropout and the validation split)
- command: \`${reproduceCommand(r.run, r.backend)}\`${reproduce}
- recipe: \`${JSON.stringify(reportedRecipe(r.run))}\`
- wall time: ${r.seconds.toFixed(1)} s${r.stopped ? `; stopped early in epoch ${r.stopped.epoch + 1}: ${r.stopped.reason}` : ''}

## Result

| | test accuracy | test loss (cross-entropy) |
| --- | ---: | ---: |
| TensorFlow.js | ${pct(r.testAccuracy)} | ${r.testLoss.toFixed(4)} |
${r.onnxAccuracy !== undefined ? `| ONNX Runtime (model.onnx) | ${pct(r.onnxAccuracy)} | |\n` : ''}
## History

${historyTable(r.history, recipe.labelSmoothing)}
${curves ? '\n![training curves](curves.png)\n' : ''}${lr ? '\n![learning rate](lr.png)\n' : ''}
## Per-class precision, recall and F1 (test set)

${classTable(metrics.precisionRecallF1(cmResult), classNames)}

## Confusion matrix (test set)

![confusion matrix](confusion.png)

## Sample predictions (test set)

${samples}

![samples](samples.png)

## Model

\`\`\`
${s.kerasTable}
\`\`\`
`;
  await writeFileAtomic(join(dir, 'report.md'), md);
}

function historyTable(history: readonly EpochLogs[], labelSmoothing: number): string {
  const rows = history.map((h) =>
    [
      h.epoch + 1,
      h.loss.toFixed(4),
      pct(h.accuracy),
      h.valLoss?.toFixed(4) ?? '',
      h.valAccuracy !== undefined ? pct(h.valAccuracy) : '',
      h.valCrossEntropy?.toFixed(4) ?? '',
      h.lr.toExponential(2),
      Math.round(h.samplesPerSecond),
      h.epochSeconds.toFixed(1),
    ].join(' | '),
  );
  const loss =
    labelSmoothing > 0
      ? `"loss" and "val loss" are the training loss, label smoothing ${labelSmoothing} included, so they compare with each other; "val cross-entropy" is without smoothing, as the test loss and PyTorch's \`CrossEntropyLoss()\` are.`
      : '"loss" and "val loss" are the cross-entropy (no label smoothing).';
  return `| epoch | loss | accuracy | val loss | val accuracy | val cross-entropy | lr | samples/s | wall time (s) |
| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
${rows.map((row) => `| ${row} |`).join('\n')}

${loss} "accuracy" is measured during training (dropout on); "lr" is the rate of the epoch's last step; "wall time" is the whole epoch, validation included.`;
}

function classTable(scores: PrecisionRecallF1Result, classNames: readonly string[]): string {
  const f = (x: number) => x.toFixed(4);
  const rows = classNames.map(
    (name, c) =>
      `| ${name.replace(/\|/g, '\\|')} | ${f(scores.precision[c])} | ${f(scores.recall[c])} | ${f(scores.f1[c])} | ${scores.support[c]} |`,
  );
  for (const [label, avg] of [
    ['macro average', scores.macro],
    ['weighted average', scores.weighted],
  ] as const) {
    rows.push(`| **${label}** | ${f(avg.precision)} | ${f(avg.recall)} | ${f(avg.f1)} | ${avg.support} |`);
  }
  return `| class | precision | recall | F1 | support |
| --- | ---: | ---: | ---: | ---: |
${rows.join('\n')}`;
}

async function writeCurves(dir: string, r: RunReportInput): Promise<void> {
  const metrics = await import('@lenet/metrics');
  const history: Record<string, number[]> = {
    loss: r.history.map((h) => h.loss),
    accuracy: r.history.map((h) => h.accuracy),
  };
  if (r.history.some((h) => h.valLoss !== undefined)) {
    history.val_loss = r.history.map((h) => h.valLoss ?? Number.NaN);
    history.val_accuracy = r.history.map((h) => h.valAccuracy ?? Number.NaN);
  }
  const smoothing = r.run.recipe.labelSmoothing;
  const title = `${r.spec.name}: training curves${smoothing > 0 ? ` (loss with label smoothing ${smoothing})` : ''}`;
  await metrics
    .trainingCurves({ epoch: r.history.map((h) => h.epoch + 1), ...history }, { title })
    .write(join(dir, 'curves'));
}

/** The per-step learning rate over epochs (fractional); false when no step was logged. */
async function writeLearningRate(dir: string, r: RunReportInput): Promise<boolean> {
  const records = r.learningRates ?? [];
  if (records.length === 0) return false;
  const perEpoch = new Map<number, number>();
  for (const rec of records) perEpoch.set(rec.epoch, (perEpoch.get(rec.epoch) ?? 0) + 1);
  // The steps of a whole epoch; the last one may have been cut short.
  const steps = Math.max(...perEpoch.values());
  const seen = new Map<number, number>();
  const epoch: number[] = [];
  const lr: number[] = [];
  const every = Math.ceil(records.length / LR_POINTS);
  for (const [i, rec] of records.entries()) {
    const k = (seen.get(rec.epoch) ?? 0) + 1;
    seen.set(rec.epoch, k);
    if (i % every !== 0 && i !== records.length - 1) continue;
    // Step k of an epoch runs from (k − 1)/steps to k/steps at its rate: the line starts at epoch 0.
    epoch.push(rec.epoch + (k - 1) / steps);
    lr.push(rec.lr);
  }
  const metrics = await import('@lenet/metrics');
  await metrics
    .trainingCurves(
      { epoch, lr },
      { title: `learning rate per step (schedule: ${r.run.recipe.schedule})`, markBest: false, height: 260 },
    )
    .write(join(dir, 'lr'));
  return true;
}

/** Draws the sample grid, mistakes first; returns the sentence that says what it shows. */
async function writeSamples(dir: string, r: RunReportInput): Promise<string> {
  const metrics = await import('@lenet/metrics');
  const { subset } = await import('@lenet/datasets');
  const classes = r.test.classNames.length;
  const confidence = Float32Array.from(r.predictions, (p, i) => r.probabilities[i * classes + p]);
  const pick = metrics.mistakesFirst(r.test.labels, r.predictions, confidence, { count: GRID_IMAGES });
  const shown = subset(r.test, pick.indices);
  const right = pick.indices.length - pick.shownWrong;
  const title =
    pick.wrong === 0
      ? `No mistakes: the first ${plural(right, 'test image')}`
      : `${pick.shownWrong === pick.wrong ? `All ${plural(pick.wrong, 'mistake')}` : `The ${pick.shownWrong} most confident of ${plural(pick.wrong, 'mistake')}`}${right ? `, then ${plural(right, 'correct prediction')}` : ''}`;
  const grid = await metrics.sampleGrid(
    shown.images,
    { height: shown.height, width: shown.width, channels: shown.channels },
    shown.labels,
    pick.indices.map((i) => r.predictions[i]),
    shown.classNames,
    { title, probabilities: pick.indices.map((i) => confidence[i]) },
  );
  await grid.write(join(dir, 'samples'));
  return `${title}. Mistakes are framed in red and labelled true → predicted; every label ends with the probability the model gave its prediction.`;
}
