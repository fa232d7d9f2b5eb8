import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { activateBackend } from '../backend-arg.js';
import { BadInputError, UsageError } from '../errors.js';
import { type CliIo, printJson } from '../io.js';
import { oneOf, positiveInt } from '../parse.js';
import { normalizationOf } from '../predictor.js';

interface ExportFlags {
  format: 'onnx';
  output?: string;
  layout: 'NCHW' | 'NHWC';
  opset: number;
  fp16?: boolean;
  logits?: boolean;
  fold: boolean;
  json?: boolean;
}

/** `lenet export`: a saved TensorFlow.js model to ONNX. */
export function registerExport(program: Command, io: CliIo): void {
  program
    .command('export')
    .description('export a saved TensorFlow.js model (or run directory) to ONNX')
    .argument('<model>', 'a run directory or a TensorFlow.js model directory (model.json)')
    .option('--format <format>', 'onnx', oneOf('--format', ['onnx'] as const), 'onnx')
    .option('--output <file.onnx>', 'where to write (default: <model>/model.onnx)')
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
      let dir = modelPath;
      if (!existsSync(join(dir, 'model.json')) && existsSync(join(dir, 'model', 'model.json')))
        dir = join(dir, 'model');
      if (!existsSync(join(dir, 'model.json'))) {
        throw new BadInputError(`${modelPath}: not a TensorFlow.js model directory (no model.json)`);
      }
      const output = flags.output ?? join(modelPath, 'model.onnx');
      if (!output.endsWith('.onnx')) throw new UsageError(`--output must end in .onnx, got '${output}'`);
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
        `wrote ${result.path} (${result.bytes.toLocaleString('en-US')} bytes, opset ${flags.opset}, ${flags.layout})\n`,
      );
    });
}
