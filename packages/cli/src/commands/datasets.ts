import { basename } from 'node:path';
import { plural } from '@lenet/common';
import type { Command } from 'commander';
import { CLI_DATASETS, type CliDatasetName, detectFormat, loadRequested } from '../data.js';
import { UsageError } from '../errors.js';
import { type CliIo, printJson } from '../io.js';
import { nonNegativeInt, oneOf, oneOfInts, positiveInt } from '../parse.js';

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

/** The named data sets `export-images` reads (an image folder already is image files). */
const EXPORTABLE = CLI_DATASETS.filter((n): n is Exclude<CliDatasetName, 'folder'> => n !== 'folder');

interface ExportImagesFlags {
  data?: string;
  split: 'train' | 'test';
  start: number;
  count: number;
  out?: string;
  json?: boolean;
}

/**
 * `lenet datasets info <name|dir>`: counts, shape, classes and pixel statistics of a data set;
 * `lenet datasets export-images <name>`: some of its images as PNG files (e.g. for `lenet predict`).
 */
export function registerDatasets(program: Command, io: CliIo): void {
  const datasets = program.command('datasets').description('inspect data sets and export their images');
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

  datasets
    .command('export-images')
    .description('write images of a data set as PNG files named <index>-<label>.png (e.g. 00000-7.png)')
    .argument('<name>', EXPORTABLE.join(' | '))
    .option('--data <dir>', 'directory of the data set (default for mnist: the bundled real MNIST)')
    .option('--split <split>', 'train or test', oneOf('--split', ['train', 'test'] as const), 'test')
    .option('--start <n>', 'index of the first image', nonNegativeInt('--start'), 0)
    .option('--count <n>', 'how many images', positiveInt('--count'), 10)
    .option('--out <dir>', 'folder to write (created if missing; default: ./<name>-<split>)')
    .option('--json', 'print the files written as JSON')
    .action(async (target: string, opts: ExportImagesFlags) => {
      const name = oneOf('<name>', EXPORTABLE)(target);
      const ds = await loadRequested({ name, dir: opts.data, split: opts.split });
      if (opts.start + opts.count > ds.count) {
        throw new UsageError(
          `--start ${opts.start} --count ${opts.count} runs past the ${plural(ds.count, 'image')} of ${name} ${opts.split}`,
        );
      }
      const out = opts.out ?? `${name}-${opts.split}`;
      const { exportImages } = await import('@lenet/datasets');
      const files = await exportImages(ds, out, { start: opts.start, count: opts.count });
      if (opts.json) {
        printJson(
          io,
          files.map((f) => ({ ...f, className: ds.classNames[f.label] })),
        );
        return;
      }
      const first = files[0].file;
      const last = files[files.length - 1].file;
      io.out(
        `wrote ${plural(files.length, `${name} ${opts.split} image`)} to ${out}: ${basename(first)}${files.length > 1 ? ` … ${basename(last)}` : ''} (<index>-<label>.png)\n`,
      );
    });
}
