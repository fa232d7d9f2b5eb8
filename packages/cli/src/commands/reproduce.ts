import type { Command } from 'commander';
import { CliFailure, UsageError } from '../errors.js';
import type { CliIo } from '../io.js';
import { runCli } from '../program.js';

/** One reference report's experiment as `lenet train` runs, with the report's own figures. */
interface Recipe {
  report: string;
  title: string;
  /** Each run: a label, the `lenet train` flags, and the report's figure for it. */
  runs: { label: string; args: string[]; reported: string }[];
  /** Needs `--data <dir>` (the report's own image folder, which is not bundled). */
  needsData?: boolean;
}

const RECIPES: Recipe[] = [
  {
    report: '000',
    title: 'PyTorch 3 conv + 3 FC with BatchNorm and Dropout on MNIST',
    runs: [
      {
        label: 'torch-bn',
        args: ['--model', 'torch-bn', '--epochs', '3'],
        reported: '98.17% test, 59,734 params',
      },
    ],
  },
  {
    report: '002',
    title: 'the same net with and without BatchNorm, and with 2 conv + 3 FC / 2 conv + 2 FC',
    runs: [
      {
        label: 'with BN',
        args: ['--model', 'torch-bn', '--epochs', '3'],
        reported: 'BN helps: higher accuracy, lower loss',
      },
      {
        label: 'without BN',
        args: ['--model', 'torch-nobn', '--epochs', '3'],
        reported: '59,298 params, below BN',
      },
      {
        label: '2 conv + 3 FC',
        args: ['--model', 'torch-2conv3fc', '--epochs', '3'],
        reported: '63,214 params, better than 3 conv',
      },
      {
        label: '2 conv + 2 FC',
        args: ['--model', 'torch-2conv2fc', '--epochs', '3'],
        reported: '57,726 params',
      },
    ],
  },
  {
    report: '004',
    title: 'Keras 3-conv + 3-dense MNIST baseline and its variants',
    runs: [
      {
        label: 'baseline',
        args: ['--model', 'keras-baseline', '--epochs', '3'],
        reported: '97,482 params, 98.57-98.96% test',
      },
      { label: 'with BN', args: ['--model', 'keras-bn', '--epochs', '3'], reported: '98,122 params' },
      { label: 'shallower', args: ['--model', 'keras-shallow', '--epochs', '3'], reported: '224,394 params' },
      { label: 'deeper', args: ['--model', 'keras-deep', '--epochs', '3'], reported: '101,642 params' },
    ],
  },
  {
    report: '001',
    title: 'Keras "LeNet" on a 50-class animal image folder (256x256x3)',
    needsData: true,
    runs: [
      {
        label: 'folder-lenet50',
        args: ['--model', 'folder-lenet50', '--dataset', 'folder', '--epochs', '30'],
        reported: '1,760,902 params, about 27-32% accuracy after 300 epochs',
      },
    ],
  },
  {
    report: '003',
    title: 'two-layer net, LeNet-5 and an improved LeNet-5 on the same 50-class folder',
    needsData: true,
    runs: [
      {
        label: 'mlp2',
        args: ['--model', 'mlp2', '--dataset', 'folder', '--epochs', '10'],
        reported: 'baseline',
      },
      {
        label: 'lenet5',
        args: ['--model', 'lenet5', '--dataset', 'folder', '--epochs', '10'],
        reported: 'above the MLP',
      },
    ],
  },
];

/** `lenet reproduce <report>`: runs a reference report's experiment and prints its figures beside ours. */
export function registerReproduce(program: Command, io: CliIo): void {
  program
    .command('reproduce')
    .description(`rerun a reference report's experiment (${RECIPES.map((r) => r.report).join(', ')})`)
    .argument('<report>', 'report number')
    .option('--data <dir>', 'image folder for reports 001 and 003')
    .option('--epochs <n>', 'override the epochs of every run')
    .option('--limit <n>', 'train on the first n images (a quick look)')
    .option('--out <dir>', 'parent directory of the runs', 'runs')
    .option('--backend <name>', 'backend', 'auto')
    .action(
      async (
        report: string,
        opts: { data?: string; epochs?: string; limit?: string; out: string; backend: string },
      ) => {
        const recipe = RECIPES.find((r) => r.report === report.padStart(3, '0'));
        if (!recipe)
          throw new UsageError(
            `unknown report '${report}'; known: ${RECIPES.map((r) => r.report).join(', ')}`,
          );
        if (recipe.needsData && !opts.data) {
          throw new UsageError(
            `report ${recipe.report} trains on its own image folder: pass --data <dir> (one sub-folder per class)`,
          );
        }
        io.out(`Report ${recipe.report}: ${recipe.title}\n`);
        const results: { label: string; accuracy: string; reported: string }[] = [];
        for (const run of recipe.runs) {
          const args = [
            'train',
            ...run.args,
            '--out',
            `${opts.out}/reproduce-${recipe.report}-${run.label.replace(/\W+/g, '-')}`,
          ];
          if (opts.data) args.push('--data', opts.data);
          if (opts.epochs) replaceFlag(args, '--epochs', opts.epochs);
          if (opts.limit) args.push('--limit', opts.limit);
          args.push('--backend', opts.backend, '--json');
          let captured = '';
          const code = await runCli(args, { out: (t) => (captured += t), err: io.err, interactive: false });
          if (code !== 0) throw new CliFailure(`run '${run.label}' failed (exit ${code})`);
          const result = JSON.parse(captured) as { testAccuracy: number };
          results.push({
            label: run.label,
            accuracy: `${(result.testAccuracy * 100).toFixed(2)}%`,
            reported: run.reported,
          });
        }
        const w = Math.max(...results.map((r) => r.label.length), 5);
        io.out(`\n${'run'.padEnd(w)}  ours (test)  report\n`);
        for (const r of results) io.out(`${r.label.padEnd(w)}  ${r.accuracy.padStart(11)}  ${r.reported}\n`);
      },
    );
}

function replaceFlag(args: string[], flag: string, value: string): void {
  const i = args.indexOf(flag);
  if (i >= 0) args[i + 1] = value;
  else args.push(flag, value);
}
