import type { Command } from 'commander';
import { CLI_DATASETS, type CliDatasetName, detectFormat, loadRequested } from '../data.js';
import { type CliIo, printJson } from '../io.js';
import { oneOf, oneOfInts, positiveInt } from '../parse.js';

interface InfoOptions {
  data?: string;
  split: 'train' | 'test';
  size?: number;
  channels?: number;
  json?: boolean;
}

function fmt(values: number[]): string {
  return values.map((v) => v.toFixed(4)).join(', ');
}

/** `lenet datasets info <name|dir>`: counts, shape, classes and pixel statistics of a data set. */
export function registerDatasets(program: Command, io: CliIo): void {
  const datasets = program.command('datasets').description('inspect data sets');
  datasets
    .command('info')
    .description('print a data set summary: count, image shape, classes, per-class counts, pixel mean/std')
    .argument('<name|dir>', `${CLI_DATASETS.join(' | ')}, or a directory (its format is detected)`)
    .option('--data <dir>', 'directory of the named data set (default for mnist: the bundled real MNIST)')
    .option('--split <split>', 'train or test', oneOf('--split', ['train', 'test'] as const), 'train')
    .option('--size <n>', 'image-folder target size (square)', positiveInt('--size'))
    .option('--channels <n>', 'image-folder channels (1 or 3)', oneOfInts('--channels', [1, 3] as const))
    .option('--json', 'print JSON')
    .action(async (target: string, opts: InfoOptions) => {
      let name: CliDatasetName;
      let dir = opts.data;
      if ((CLI_DATASETS as readonly string[]).includes(target)) {
        name = target as CliDatasetName;
      } else {
        dir = target;
        name = await detectFormat(target);
      }
      const started = performance.now();
      const ds = await loadRequested({
        name,
        dir,
        split: opts.split,
        size: opts.size ? [opts.size, opts.size] : undefined,
        channels: opts.channels === 1 ? 1 : 3,
      });
      const ms = performance.now() - started;
      const { describeDataset } = await import('@lenet/datasets');
      const s = describeDataset(ds);
      if (opts.json) {
        printJson(io, { name, split: opts.split, loadMs: Math.round(ms), ...s });
        return;
      }
      const width = Math.max(...s.classNames.map((c) => c.length), 5);
      const lines = [
        `${name} (${opts.split}) from ${s.source}`,
        `  images:     ${s.count.toLocaleString('en-US')} of ${s.shape.join('x')} (h x w x c), uint8`,
        `  classes:    ${s.classes}`,
        `  pixel mean: ${fmt(s.pixelMean)}   std: ${fmt(s.pixelStd)} (0..1 units)`,
        `  memory:     ${(s.bytes / 1024 / 1024).toFixed(1)} MiB, loaded in ${ms.toFixed(0)} ms`,
        '  per class:',
        ...s.classNames.map((c, i) => `    ${c.padEnd(width)} ${String(s.classCounts[i]).padStart(7)}`),
      ];
      io.out(`${lines.join('\n')}\n`);
    });
}
