import { getRecipe, RECIPES, type RecipeName } from '@lenet/train/recipes';
import type { Command } from 'commander';
import { CLI_BACKENDS, type CliBackend } from '../backend-arg.js';
import { UsageError } from '../errors.js';
import type { CliIo } from '../io.js';
import { oneOf, positiveInt } from '../parse.js';
import { runTraining } from '../training-run.js';

/** One reference report's experiment: its networks' recipes, with the report's own figures. */
interface Report {
  report: string;
  title: string;
  /** Each run: a label, its recipe in `@lenet/train`'s `RECIPES`, and the report's figure for it. */
  runs: { label: string; recipe: RecipeName; reported: string }[];
}

const REPORTS: Report[] = [
  {
    report: '000',
    title: 'PyTorch 3 conv + 3 FC with BatchNorm and Dropout on MNIST',
    runs: [{ label: 'torch-bn', recipe: 'report-000-torch-bn', reported: '98.17% test, 59,734 params' }],
  },
  {
    report: '002',
    title: 'the same net with and without BatchNorm, and with 2 conv + 3 FC / 2 conv + 2 FC',
    runs: [
      { label: 'with BN', recipe: 'report-002-torch-bn', reported: 'BN helps: higher accuracy, lower loss' },
      { label: 'without BN', recipe: 'report-002-torch-nobn', reported: '59,298 params, below BN' },
      {
        label: '2 conv + 3 FC',
        recipe: 'report-002-torch-2conv3fc',
        reported: '63,214 params, better than 3 conv',
      },
      { label: '2 conv + 2 FC', recipe: 'report-002-torch-2conv2fc', reported: '57,726 params' },
    ],
  },
  {
    report: '004',
    title: 'Keras 3-conv + 3-dense MNIST baseline and its variants',
    runs: [
      {
        label: 'baseline',
        recipe: 'report-004-keras-baseline',
        reported: '97,482 params, 98.57-98.96% test',
      },
      { label: 'with BN', recipe: 'report-004-keras-bn', reported: '98,122 params' },
      { label: 'shallower', recipe: 'report-004-keras-shallow', reported: '224,394 params' },
      { label: 'deeper', recipe: 'report-004-keras-deep', reported: '101,642 params' },
    ],
  },
  {
    report: '001',
    title: 'Keras "LeNet" on a 50-class animal image folder (256x256x3)',
    runs: [
      {
        label: 'folder-lenet50',
        recipe: 'report-001-folder-lenet50',
        reported: '1,760,902 params, about 27-32% accuracy after 300 epochs',
      },
    ],
  },
  {
    report: '003',
    title: 'two-layer net, LeNet-5 and an improved LeNet-5 on the same 50-class folder',
    runs: [
      { label: 'mlp2', recipe: 'report-003-mlp2', reported: 'baseline' },
      { label: 'lenet5', recipe: 'report-003-lenet5', reported: 'above the MLP' },
    ],
  },
];

/** The report's own image folder is not bundled: its runs need `--data <dir>`. */
function needsData(report: Report): boolean {
  return report.runs.some((run) => RECIPES[run.recipe].dataset === 'folder');
}

interface ReproduceFlags {
  data?: string;
  epochs?: number;
  limit?: number;
  out: string;
  backend: CliBackend;
}

/** `lenet reproduce <report>`: runs a reference report's experiment and prints its figures beside ours. */
export function registerReproduce(program: Command, io: CliIo): void {
  program
    .command('reproduce')
    .description(`rerun a reference report's experiment (${REPORTS.map((r) => r.report).join(', ')})`)
    .argument('<report>', 'report number')
    .option('--data <dir>', 'image folder for reports 001 and 003')
    .option('--epochs <n>', 'override the epochs of every run', positiveInt('--epochs'))
    .option('--limit <n>', 'train on the first n images (a quick look)', positiveInt('--limit'))
    .option('--out <dir>', 'parent directory of the runs', 'runs')
    .option('--backend <name>', 'backend', oneOf('--backend', CLI_BACKENDS), 'auto')
    .action(async (number: string, flags: ReproduceFlags) => {
      const report = REPORTS.find((r) => r.report === number.padStart(3, '0'));
      if (!report)
        throw new UsageError(`unknown report '${number}'; known: ${REPORTS.map((r) => r.report).join(', ')}`);
      if (needsData(report) && !flags.data) {
        throw new UsageError(
          `report ${report.report} trains on its own image folder: pass --data <dir> (one sub-folder per class)`,
        );
      }
      io.out(`Report ${report.report}: ${report.title}\n`);
      const results: { label: string; accuracy: string; reported: string }[] = [];
      for (const run of report.runs) {
        const recipe = getRecipe(run.recipe);
        if (flags.epochs) recipe.epochs = flags.epochs;
        const summary = await runTraining(
          {
            recipe,
            data: flags.data,
            limit: flags.limit,
            backend: flags.backend,
            workers: 1,
            onnx: true,
            out: `${flags.out}/reproduce-${report.report}-${run.label.replace(/\W+/g, '-')}`,
            output: 'none',
            reportFlags: {
              reproduce: report.report,
              run: run.label,
              ...flags,
              recipe: { name: run.recipe, ...recipe },
            },
          },
          io,
        );
        results.push({
          label: run.label,
          accuracy: `${(summary.testAccuracy * 100).toFixed(2)}%`,
          reported: run.reported,
        });
      }
      const w = Math.max(...results.map((r) => r.label.length), 5);
      io.out(`\n${'run'.padEnd(w)}  ours (test)  report\n`);
      for (const r of results) io.out(`${r.label.padEnd(w)}  ${r.accuracy.padStart(11)}  ${r.reported}\n`);
    });
}
