import { existsSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { plural } from '@lenet/common';
import type { Command } from 'commander';
import { activateBackend, CLI_BACKENDS, type CliBackend } from '../backend-arg.js';
import { CLI_DATASETS, type CliDatasetName, loadRequested } from '../data.js';
import { BadInputError } from '../errors.js';
import { type CliIo, printJson } from '../io.js';
import { oneOf, positiveInt } from '../parse.js';
import { type LoadedClassifier, loadClassifier } from '../predictor.js';

const INVERT = ['auto', 'yes', 'no'] as const;
type InvertFlag = (typeof INVERT)[number];

const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg', '.webp', '.gif', '.bmp', '.tif', '.tiff']);

async function expandImages(paths: string[]): Promise<string[]> {
  const files: string[] = [];
  for (const p of paths) {
    if (!existsSync(p)) throw new BadInputError(`${p}: no such file or directory`);
    if ((await stat(p)).isDirectory()) {
      const names = (await readdir(p)).filter((n) => IMAGE_EXTENSIONS.has(extname(n).toLowerCase())).sort();
      if (names.length === 0)
        throw new BadInputError(`${p}: no image files (png, jpg, webp, gif, bmp, tif) in folder`);
      files.push(...names.map((n) => join(p, n)));
    } else {
      files.push(p);
    }
  }
  return files;
}

/** `lenet eval` and `lenet predict`: a saved model (TensorFlow.js directory or .onnx) on data. */
export function registerInference(program: Command, io: CliIo): void {
  program
    .command('eval')
    .description('evaluate a saved model (TensorFlow.js model directory or .onnx file) on a test set')
    .argument('<model>', 'a run directory, its model/ folder, or a .onnx file')
    .option('--dataset <name>', CLI_DATASETS.join(' | '), oneOf('--dataset', CLI_DATASETS), 'mnist')
    .option('--data <dir>', 'data directory')
    .option('--split <split>', 'train or test', oneOf('--split', ['train', 'test'] as const), 'test')
    .option('--backend <name>', CLI_BACKENDS.join(' | '), oneOf('--backend', CLI_BACKENDS), 'auto')
    .option('--batch-size <n>', 'batch size', positiveInt('--batch-size'), 256)
    .option('--json', 'print JSON')
    .action(
      async (
        modelPath: string,
        opts: {
          dataset: CliDatasetName;
          data?: string;
          split: 'train' | 'test';
          backend: CliBackend;
          batchSize: number;
          json?: boolean;
        },
      ) => {
        const classifier = await loadClassifier(
          modelPath,
          () => activateBackend(opts.backend, io, opts.json),
          io,
        );
        try {
          const [h, w, c] = classifier.input;
          const ds = await loadRequested({
            name: opts.dataset,
            dir: opts.data,
            split: opts.split,
            size: [h, w],
            channels: c === 1 ? 1 : 3,
          });
          const { evaluate } = await import('@lenet/train');
          const result = await evaluate(classifier.classifier, ds, { batchSize: opts.batchSize });
          const metrics = await import('@lenet/metrics');
          const cm = new metrics.ConfusionMatrix(ds.classNames.length);
          cm.updateLabels(result.predictions, ds.labels);
          if (opts.json) {
            return printJson(io, {
              model: modelPath,
              runtime: classifier.runtime,
              count: ds.count,
              accuracy: result.accuracy,
              confusion: Array.from(cm.compute().matrix),
            });
          }
          io.out(
            `${classifier.runtime}: accuracy ${(result.accuracy * 100).toFixed(2)}% on ${plural(ds.count, `${opts.dataset} ${opts.split} image`)}\n\n`,
          );
          io.out(`${metrics.classificationReport(cm, ds.classNames, { digits: 4 })}\n`);
        } finally {
          await classifier.dispose();
        }
      },
    );

  program
    .command('predict')
    .description(
      'classify image files (PNG/JPEG/…) or a folder of them; prints label and top-3 (digits to try: `lenet datasets export-images mnist`)',
    )
    .argument('<model>', 'a run directory, its model/ folder, or a .onnx file')
    .argument('<images...>', 'image files or folders')
    .option('--backend <name>', CLI_BACKENDS.join(' | '), oneOf('--backend', CLI_BACKENDS), 'auto')
    .option('--top <k>', 'how many classes to show', positiveInt('--top'), 3)
    .option(
      '--invert <when>',
      'invert dark-on-light images (a digit drawn on paper) to the light-on-dark of MNIST: auto (when the border is brighter than the centre), yes or no',
      oneOf('--invert', INVERT),
      'auto',
    )
    .option('--json', 'print JSON')
    .action(
      async (
        modelPath: string,
        images: string[],
        opts: { backend: CliBackend; top: number; invert: InvertFlag; json?: boolean },
      ) => {
        const files = await expandImages(images);
        const classifier = await loadClassifier(
          modelPath,
          () => activateBackend(opts.backend, io, opts.json),
          io,
        );
        try {
          const rows = await predictFiles(classifier, files, opts.top, opts.invert);
          if (opts.json) return printJson(io, rows);
          for (const r of rows) {
            const top = r.top.map((t) => `${t.label} ${(t.probability * 100).toFixed(1)}%`).join(', ');
            io.out(`${r.file}: ${r.label}   (top-${opts.top}: ${top})${r.inverted ? '  [inverted]' : ''}\n`);
          }
        } finally {
          await classifier.dispose();
        }
      },
    );
}

async function predictFiles(classifier: LoadedClassifier, files: string[], k: number, invert: InvertFlag) {
  const { predictImages } = await import('@lenet/train');
  // Decoded and resized like training data, inverted when dark-on-light, normalised and laid
  // out as the model's metadata says: all in the library's one image predictor.
  const result = await predictImages(classifier.classifier, files, {
    invert: invert === 'auto' ? 'auto' : invert === 'yes',
  });
  const { classes } = result;
  return files.map((file, i) => {
    const row = Array.from(result.probabilities.subarray(i * classes, (i + 1) * classes));
    const order = row.map((p, j) => [p, j] as const).sort((a, b) => b[0] - a[0]);
    return {
      file,
      label: classifier.classNames[order[0][1]],
      inverted: result.inverted[i],
      top: order.slice(0, k).map(([p, j]) => ({ label: classifier.classNames[j], probability: p })),
    };
  });
}
