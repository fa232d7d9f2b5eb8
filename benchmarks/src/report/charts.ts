import { join } from 'node:path';
import { barChart, type RunValue } from '@lenet/metrics';
import { type BenchResult, type CellTask, FIT_BACKENDS } from '../types.js';

/** What the error bars of the speed charts show (the report says it under the charts too). */
export const ERROR_BARS = "tinybench's 95 % relative margin of error of the mean (the ± of the tables)";

/** One bar per measured cell: samples/s with the cell's margin as an error bar, clamped at 0. */
function speedBars(r: BenchResult, task: CellTask, batch: number): RunValue[] {
  return r.cells
    .filter(
      (c) =>
        c.task === task &&
        c.batch === batch &&
        c.status === 'ok' &&
        c.samplesPerSec &&
        !(c.backend in FIT_BACKENDS),
    )
    .map((c) => {
      const value = Math.round(c.samplesPerSec!);
      const margin = (value * (c.rme ?? 0)) / 100;
      return {
        group: c.model,
        name: c.backend,
        value,
        low: Math.max(0, value - margin),
        high: value + margin,
      };
    });
}

/** Charts of a run: training and inference samples/s with error bars, and accuracy (SVG + PNG). */
export async function writeCharts(r: BenchResult, dir: string): Promise<string[]> {
  const written: string[] = [];
  const speed = async (task: CellTask, batch: number, file: string, title: string): Promise<void> => {
    const runs = speedBars(r, task, batch);
    if (runs.length === 0) return;
    // Room for each bar's label (whole samples/s, above its error bar) without touching the next.
    const width = Math.max(640, 60 * new Set(runs.map((x) => x.group)).size + 160, 44 * runs.length + 160);
    await barChart(runs, {
      title: `${title} (${r.options.profile} profile; error bars: 95 % margin of error)`,
      yLabel: 'samples / s',
      // whole samples/s, as the tables write them (the default 4 significant digits would not be)
      format: ',.0f',
      width,
      height: 400,
    }).write({
      svg: join(dir, `${file}.svg`),
      png: join(dir, `${file}.png`),
    });
    written.push(`${file}.svg`, `${file}.png`);
  };
  await speed('train', 64, 'train-b64', 'Training samples/s at batch 64');
  await speed('infer', 64, 'infer-b64', 'Inference samples/s at batch 64');
  await speed('infer', 1, 'infer-b1', 'Inference samples/s at batch 1');
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
      // percentages to 2 decimals, as the accuracy table writes them
      format: '.2%',
      width: Math.max(640, 60 * acc.length + 160),
      height: 400,
    }).write({ svg: join(dir, 'accuracy.svg'), png: join(dir, 'accuracy.png') });
    written.push('accuracy.svg', 'accuracy.png');
  }
  return written;
}
