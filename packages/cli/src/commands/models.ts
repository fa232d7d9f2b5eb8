import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { type CliIo, printJson } from '../io.js';
import { resolveModel } from '../model-arg.js';
import { oneOf, positiveInt } from '../parse.js';

/** `lenet presets` and `lenet summary`: what models exist and what they hold. */
export function registerModels(program: Command, io: CliIo): void {
  program
    .command('presets')
    .description('list the model presets')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const { presets, summary, getPreset } = await import('@lenet/models');
      const rows = presets.map((p) => {
        const s = summary(getPreset(p.name).spec);
        return {
          name: p.name,
          input: p.defaultInput,
          classes: p.defaultClasses,
          params: s.totalParams,
          torchParams: s.torchParams,
          source: p.source,
          description: p.description,
        };
      });
      if (opts.json) return printJson(io, rows);
      const w = Math.max(...rows.map((r) => r.name.length));
      io.out(`${'name'.padEnd(w)}  ${'input'.padEnd(9)}  ${'params'.padStart(9)}  description\n`);
      for (const r of rows) {
        io.out(
          `${r.name.padEnd(w)}  ${r.input.join('x').padEnd(9)}  ${r.params.toLocaleString('en-US').padStart(9)}  ${r.description}\n`,
        );
      }
    });

  program
    .command('summary')
    .description('print a Keras- or torchsummary-style table of a preset or spec file')
    .argument('<preset|spec.json>', 'a preset name or a model spec JSON file')
    .option(
      '--style <style>',
      'keras, torch or both',
      oneOf('--style', ['keras', 'torch', 'both'] as const),
      'both',
    )
    .option('--input <hxwxc>', 'adapt the preset to this input shape, e.g. 32x32x3')
    .option('--classes <n>', 'adapt the preset to this class count', positiveInt('--classes'))
    .option('--json', 'print the structured rows as JSON')
    .action(
      async (
        model: string,
        opts: { style: 'keras' | 'torch' | 'both'; input?: string; classes?: number; json?: boolean },
      ) => {
        const { summary } = await import('@lenet/models');
        const input = opts.input ? parseShape(opts.input) : undefined;
        const { spec } = await resolveModel(model, { input, classes: opts.classes });
        const s = summary(spec);
        if (opts.json) {
          const { kerasTable: _k, torchTable: _t, ...rest } = s;
          return printJson(io, rest);
        }
        if (opts.style !== 'torch') io.out(`${s.kerasTable}\n`);
        if (opts.style === 'both') io.out('\n');
        if (opts.style !== 'keras') io.out(`${s.torchTable}\n`);
      },
    );
}

/** Parses `28x28x1` into `[28, 28, 1]`. */
export function parseShape(text: string): [number, number, number] {
  const parts = text.split(/[x,]/).map(Number);
  if (parts.length !== 3 || parts.some((n) => !Number.isInteger(n) || n <= 0)) {
    throw new UsageError(`--input must look like HxWxC, e.g. 32x32x3; got '${text}'`);
  }
  return parts as [number, number, number];
}
