import { join } from 'node:path';
import { writeFileAtomic } from '@lenet/common';
import type { Dataset } from '@lenet/datasets';
import type { ModelSpec } from '@lenet/models';
import type { EpochLogs } from '@lenet/train';

/** What a finished training run hands to {@link writeRunReport}. */
export interface RunReportInput {
  spec: ModelSpec;
  adaptations: string[];
  backend: string;
  flags: Record<string, unknown>;
  history: readonly EpochLogs[];
  stopped: { reason: string; epoch: number } | null;
  seconds: number;
  test: Dataset;
  testAccuracy: number;
  testLoss: number;
  predictions: Int32Array;
  onnxAccuracy?: number;
}

const pct = (x: number) => `${(x * 100).toFixed(2)}%`;

/** Writes the run's plots (SVG + PNG) and a `report.md` that shows them. */
export async function writeRunReport(dir: string, r: RunReportInput): Promise<void> {
  const metrics = await import('@lenet/metrics');
  const { summary } = await import('@lenet/models');
  const history: Record<string, number[]> = {
    loss: r.history.map((h) => h.loss),
    accuracy: r.history.map((h) => h.accuracy),
  };
  if (r.history.some((h) => h.valLoss !== undefined)) {
    history.val_loss = r.history.map((h) => h.valLoss ?? Number.NaN);
    history.val_accuracy = r.history.map((h) => h.valAccuracy ?? Number.NaN);
  }
  // A run interrupted during its first epoch has no finished epoch to draw.
  if (r.history.length > 0) {
    await metrics
      .trainingCurves(history, { title: `${r.spec.name}: training curves` })
      .write(join(dir, 'curves'));
  }

  const cm = new metrics.ConfusionMatrix(r.test.classNames.length);
  cm.updateLabels(r.predictions, r.test.labels);
  const cmResult = cm.compute();
  await metrics.confusionHeatmap(cmResult, r.test.classNames).write(join(dir, 'confusion'));

  // The first 32 test images, with wrong predictions framed in red.
  const { head } = await import('@lenet/datasets');
  const first = head(r.test, 32);
  const grid = await metrics.sampleGrid(
    first.images,
    { height: first.height, width: first.width, channels: first.channels },
    first.labels,
    r.predictions.subarray(0, first.count),
    first.classNames,
  );
  await grid.write(join(dir, 'samples'));

  const report = metrics.classificationReport(cmResult, r.test.classNames, { digits: 4 });
  const s = summary(r.spec);
  const rows = r.history
    .map(
      (h) =>
        `| ${h.epoch + 1} | ${h.loss.toFixed(4)} | ${pct(h.accuracy)} | ${h.valLoss?.toFixed(4) ?? ''} | ${
          h.valAccuracy !== undefined ? pct(h.valAccuracy) : ''
        } | ${h.lr.toExponential(2)} | ${Math.round(h.samplesPerSecond)} | ${h.epochSeconds.toFixed(1)} |`,
    )
    .join('\n');
  const md = `# Run: ${r.spec.name}

- model: \`${r.spec.name}\`, ${s.totalParams.toLocaleString('en-US')} parameters (${s.torchParams.toLocaleString('en-US')} in torchsummary's count)${
    r.adaptations.length ? `\n- adapted: ${r.adaptations.join('; ')}` : ''
  }
- data: ${r.test.source}
- backend: ${r.backend}
- flags: \`${JSON.stringify(r.flags)}\`
- wall time: ${r.seconds.toFixed(1)} s${r.stopped ? `; stopped early: ${r.stopped.reason}` : ''}

## Result

| | test accuracy | test loss |
| --- | ---: | ---: |
| TensorFlow.js | ${pct(r.testAccuracy)} | ${r.testLoss.toFixed(4)} |
${r.onnxAccuracy !== undefined ? `| ONNX Runtime (model.onnx) | ${pct(r.onnxAccuracy)} | |\n` : ''}
## History

| epoch | loss | accuracy | val loss | val accuracy | lr | samples/s | seconds |
| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
${rows}

![training curves](curves.png)

## Confusion matrix (test set)

![confusion matrix](confusion.png)

\`\`\`
${report}
\`\`\`

## Sample predictions (first ${first.count} test images; wrong ones framed in red)

![samples](samples.png)

## Model

\`\`\`
${s.kerasTable}
\`\`\`
`;
  await writeFileAtomic(join(dir, 'report.md'), md);
}
