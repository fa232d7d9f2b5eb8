import { existsSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { plural } from '@lenet/common';
import { type Command, Option } from 'commander';
import { activateBackend } from '../backend-arg.js';
import { BadInputError, UsageError } from '../errors.js';
import { type CliIo, printJson } from '../io.js';
import { oneOf, positiveInt } from '../parse.js';
import { normalizationOf } from '../predictor.js';

interface ExportFlags {
  format: 'onnx';
  out?: string;
  /** The old name of `--out`, still accepted. */
  output?: string;
  layout: 'NCHW' | 'NHWC';
  opset: number;
  fp16?: boolean;
  logits?: boolean;
  fold: boolean;
  json?: boolean;
}

/**
 * Where `export` writes without `--out`: beside the model folder, never inside it. A run directory
 * or a run's `model/` folder gives `<run>/model.onnx` (where `lenet train` puts it); any other
 * model folder `<name>/` gives `./<name>.onnx`.
 */
function defaultOnnxPath(modelPath: string, modelDir: string): string {
  if (resolve(modelDir) !== resolve(modelPath)) return join(modelPath, 'model.onnx');
  const dir = resolve(modelDir);
  const name = basename(dir) === 'model' ? 'model.onnx' : `${basename(dir)}.onnx`;
  const target = basename(dir) === 'model' ? join(dirname(dir), name) : resolve(name);
  // Run from inside the model folder, ./<name>.onnx would land in it: go one up instead.
  const inside = !relative(dir, target).startsWith('..');
  return relative(process.cwd(), inside ? join(dirname(dir), name) : target);
}

/** `lenet export`: a saved TensorFlow.js model to ONNX. */
export function registerExport(program: Command, io: CliIo): void {
  program
    .command('export')
    .description('export a saved TensorFlow.js model (or run directory) to ONNX')
    .argument('<model>', 'a run directory or a TensorFlow.js model directory (model.json)')
    .option('--format <format>', 'onnx', oneOf('--format', ['onnx'] as const), 'onnx')
    .option(
      '--out <file.onnx>',
      'where to write (default: <run>/model.onnx for a run directory or its model/ folder, else ./<folder name>.onnx; never inside the model folder)',
    )
    .addOption(new Option('--output <file.onnx>', 'deprecated: use --out').hideHelp())
    .option(
      '--layout <layout>',
      'graph input layout: NCHW or NHWC',
      oneOf('--layout', ['NCHW', 'NHWC'] as const),
      'NCHW',
    )
    .option('--opset <n>', 'ONNX opset (13 or newer)', positiveInt('--opset'), 17)
    .option('--fp16', 'store weights as float16')
    .option('--logits', 'leave out the final softmax')
    .option('--no-fold', 'keep BatchNormalization nodes instead of folding them')
    .option('--json', 'print JSON')
    .action(async (modelPath: string, flags: ExportFlags) => {
      if (flags.output !== undefined) {
        if (flags.out !== undefined && flags.out !== flags.output) {
          throw new UsageError(`--output is the old name of --out: give one of them, not both`);
        }
        io.err('lenet: --output is deprecated; use --out\n');
      }
      let dir = modelPath;
      if (!existsSync(join(dir, 'model.json')) && existsSync(join(dir, 'model', 'model.json')))
        dir = join(dir, 'model');
      if (!existsSync(join(dir, 'model.json'))) {
        throw new BadInputError(`${modelPath}: not a TensorFlow.js model directory (no model.json)`);
      }
      const output = flags.out ?? flags.output ?? defaultOnnxPath(modelPath, dir);
      if (!output.endsWith('.onnx')) throw new UsageError(`--out must end in .onnx, got '${output}'`);
      await activateBackend('auto', io, true);
      const { loadModel, readModelMetadata } = await import('@lenet/models/tf');
      const onnx = await import('@lenet/onnx');
      const model = await loadModel(dir);
      const meta = (await readModelMetadata(dir)) ?? {};
      const spec = meta.spec as { name?: string } | undefined;
      const result = await onnx.exportOnnx(model, output, {
        opset: flags.opset,
        inputLayout: flags.layout,
        weightType: flags.fp16 ? 'float16' : 'float32',
        logits: Boolean(flags.logits),
        foldBatchNorm: flags.fold,
        preset: spec?.name,
        classNames: Array.isArray(meta.classNames) ? (meta.classNames as string[]) : undefined,
        normalization: normalizationOf(meta.normalize),
      });
      model.dispose();
      if (flags.json) return printJson(io, result);
      io.out(
        `wrote ${result.path} (${plural(result.bytes, 'byte')}, opset ${flags.opset}, ${flags.layout})\n`,
      );
    });
}
