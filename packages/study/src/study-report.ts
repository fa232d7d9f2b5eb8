// A study's run directory: results.json (the data), study.md (the answer in words and tables) and
// two plots. Every file is written atomically, the markdown last, so that a reader never finds a
// report that links to a plot not yet written.
import { join } from 'node:path';
import { formatDuration, markdownTable, plural, withoutMachinePaths, writeFileAtomic } from '@lenet/common';
import { bandChart, pointIntervalChart } from '@lenet/metrics';
import type { SampleStats } from './stats.js';
import {
  type ComparisonSummary,
  formatP,
  formatSigned,
  type StudySummary,
  summarizeStudy,
} from './summary.js';
import type { JobResult, StudyDefinition } from './types.js';

/** Version of the `results.json` layout. */
const RESULTS_VERSION = 1;

/** How the run went, as the report states it. */
export interface StudyRunMeta {
  /** Wall time of the whole study run, in seconds. */
  wallSeconds: number;
  /** The command that ran it, as typed (machine paths are left out of study.md). */
  command: string;
}

/**
 * Writes the report of a study run into `dir` (created if needed): `results.json` (the study
 * definition, the summary, wall time, command and every job result), `study.md`, and the plots
 * `accuracy.svg/.png` (each seed's test accuracy per arm, the mean with its 95 % CI) and
 * `curves.svg/.png` (learning curves per arm, mean ± sd over seeds). Plots are left out when no
 * job finished. Returns the paths written.
 */
export async function writeStudyReport(
  dir: string,
  study: StudyDefinition,
  results: readonly JobResult[],
  meta: StudyRunMeta,
): Promise<{ files: string[]; summary: StudySummary }> {
  const summary = summarizeStudy(study, results);
  const files: string[] = [];
  const plots: { file: string; alt: string }[] = [];

  const order = new Map(study.arms.map((a, i) => [a.name, i]));
  const jobs = [...results].sort((x, y) => order.get(x.arm)! - order.get(y.arm)! || x.seed - y.seed);
  const accuracy = accuracyPlot(study, summary, jobs);
  if (accuracy) {
    const written = await accuracy.write(join(dir, 'accuracy'));
    files.push(written.svg!, written.png!);
    plots.push({
      file: 'accuracy.svg',
      alt: 'test accuracy per arm: each seed, and the mean with its 95 % CI',
    });
  }
  const curves = curvesPlot(study, summary);
  if (curves) {
    const written = await curves.plot.write(join(dir, 'curves'));
    files.push(written.svg!, written.png!);
    plots.push({ file: 'curves.svg', alt: `${curves.label} per epoch, mean ± sd over seeds` });
  }

  const data = {
    version: RESULTS_VERSION,
    study,
    summary,
    wallSeconds: meta.wallSeconds,
    command: meta.command,
    jobs,
  };
  const resultsPath = join(dir, 'results.json');
  await writeFileAtomic(resultsPath, `${JSON.stringify(data, null, 2)}\n`);
  files.push(resultsPath);

  const mdPath = join(dir, 'study.md');
  await writeFileAtomic(mdPath, studyMarkdown(study, summary, jobs, meta, plots));
  files.push(mdPath);
  return { files, summary };
}

/** Percent with 2 decimals, for accuracies given as fractions. */
const pct = (x: number): string => (x * 100).toFixed(2);

function sampleCells(stats: SampleStats): { meanSd: string; ci: string } {
  if (stats.mean === null) return { meanSd: '–', ci: 'no finished job' };
  const meanSd = stats.sd === null ? pct(stats.mean) : `${pct(stats.mean)} ± ${pct(stats.sd)}`;
  const ci = stats.ci95 ? `${pct(stats.ci95[0])} to ${pct(stats.ci95[1])}` : `none (${stats.note})`;
  return { meanSd, ci };
}

function recipeText(recipe: StudyDefinition['recipe']): string {
  return typeof recipe === 'string' ? `\`${recipe}\`` : `\`default\` with \`${JSON.stringify(recipe)}\``;
}

function setupSection(study: StudyDefinition, summary: StudySummary, meta: StudyRunMeta): string {
  const { budget } = study;
  const data = [
    study.dataset,
    budget.trainLimit ? `first ${plural(budget.trainLimit, 'training image')}` : 'all training images',
    budget.testLimit ? `first ${plural(budget.testLimit, 'test image')}` : 'the whole test set',
  ];
  const { jobs } = summary;
  const counts = [
    `${jobs.done} done`,
    `${jobs.failed} failed`,
    ...(jobs.missing ? [`${jobs.missing} missing`] : []),
  ];
  const seeds = [...study.seeds].sort((a, b) => a - b);
  return markdownTable(
    ['', ''],
    [
      ['data', `${data[0]}: ${data[1]}, ${data[2]}`],
      ['recipe', recipeText(study.recipe)],
      ['budget', `${plural(budget.epochs, 'epoch')} per job`],
      ['seeds', `${seeds.join(', ')} (${plural(seeds.length, 'seed')} per arm; arms are paired by seed)`],
      [
        'jobs',
        `${counts.join(', ')}, of ${jobs.planned} (${study.arms.length} arms × ${seeds.length} seeds)`,
      ],
      ['wall time', formatDuration(meta.wallSeconds)],
      ['command', `\`${withoutMachinePaths(meta.command, process.cwd())}\``],
    ],
  );
}

function armsSection(study: StudyDefinition, summary: StudySummary): string {
  const rows = summary.arms.map((arm) => {
    const acc = sampleCells(arm.testAccuracy);
    const loss = arm.testLoss.mean === null ? '–' : arm.testLoss.mean.toFixed(4);
    return [
      arm.name,
      `\`${arm.model}\``,
      `${arm.jobs.done}`,
      `${arm.jobs.failed}`,
      `${arm.testAccuracy.n}`,
      acc.meanSd,
      acc.ci,
      loss,
    ];
  });
  const notes = study.arms
    .filter((a) => a.description || a.recipe)
    .map((a) => {
      const recipe = a.recipe ? ` (recipe: \`${JSON.stringify(a.recipe)}\`)` : '';
      return `- **${a.name}**${recipe}${a.description ? `: ${a.description}` : ''}`;
    });
  return [
    '## Arms: test accuracy (%)',
    '',
    markdownTable(['arm', 'model', 'done', 'failed', 'n', 'mean ± sd', '95 % CI', 'test loss (mean)'], rows),
    ...(notes.length ? ['', ...notes] : []),
  ].join('\n');
}

function comparisonSection(c: ComparisonSummary): string {
  const t = c.test;
  const pts = (x: number) => formatSigned(x * 100, 2);
  const testText =
    t.p !== null && t.t !== null
      ? `${t.test}: t = ${formatSigned(t.t, 3)}, df = ${t.df}, p ${formatP(t.p)}`
      : `${t.test}: not computed (${t.note})`;
  const rows = [
    [
      'pairs (seeds both arms finished)',
      c.pairs ? `${c.pairs} (${c.pairs === 1 ? 'seed' : 'seeds'} ${c.seeds.join(', ')})` : '0',
    ],
    ...(c.meanA !== null && c.meanB !== null
      ? [[`mean test accuracy, ${c.a} / ${c.b}`, `${pct(c.meanA)} % / ${pct(c.meanB)} %`]]
      : []),
    ...(c.difference !== null ? [[`difference ${c.a} − ${c.b}`, `${pts(c.difference)} points`]] : []),
    [
      '95 % CI of the difference',
      c.ci95 ? `${pts(c.ci95[0])} to ${pts(c.ci95[1])} points` : `none (${t.note})`,
    ],
    ['test', testText],
  ];
  return [
    `### ${c.a} vs ${c.b}`,
    '',
    ...(c.question ? [`*${c.question}*`, ''] : []),
    `**Verdict:** ${c.verdict}.`,
    '',
    markdownTable(['', ''], rows),
  ].join('\n');
}

const WHICH_TEST = `## Which test and why

Each comparison uses the **paired t-test** on the per-seed differences of test accuracy (arm a −
arm b), over the seeds both arms finished, with the Student-t 95 % confidence interval of the mean
difference. Seeds pair the arms: the same seed gives both arms the same shuffling order, validation
split and augmentation, so much of the seed-to-seed spread is shared by the two runs of a pair and
cancels in their difference; an unpaired test would count it as noise. A difference is reported as
detected when p < 0.05, which is exactly when its 95 % CI excludes 0; otherwise the verdict is that
no difference is detectable at this budget (more seeds or epochs may still find one). With 5 seeds a
Wilcoxon signed-rank test cannot reach p < 0.0625 (its smallest two-sided p is 2/2⁵), so it is not
used. Each p-value is for its own comparison, not corrected for multiple comparisons. Failed jobs
are listed below and are part of no figure; fewer than 2 pairs give no interval and no test.`;

function machinesSection(jobs: readonly JobResult[]): string {
  const groups = new Map<
    string,
    { machine: JobResult['machine']; backend: string; jobs: number; seconds: number }
  >();
  for (const job of jobs) {
    const key = `${job.machine.hostname}\u0000${job.backend}`;
    const g = groups.get(key) ?? { machine: job.machine, backend: job.backend, jobs: 0, seconds: 0 };
    g.jobs++;
    g.seconds += job.wallSeconds;
    groups.set(key, g);
  }
  const rows = [...groups.values()].map((g) => [
    g.machine.hostname,
    `${g.machine.cpuModel}, ${g.machine.cpus} CPUs, ${g.machine.memoryGiB} GiB, ${g.machine.platform}, Node ${g.machine.node}`,
    g.backend,
    `${g.jobs}`,
    g.seconds.toFixed(1),
  ]);
  return [
    '## Machines',
    '',
    markdownTable(['machine', 'hardware', 'backend', 'jobs', 'job seconds (sum)'], rows),
  ].join('\n');
}

function failedSection(summary: StudySummary): string {
  if (summary.failed.length === 0) return '## Failed jobs\n\nNone.';
  const rows = summary.failed.map((f) => [
    f.arm,
    `${f.seed}`,
    f.code,
    f.kind === 'input' ? 'input (not retried)' : 'failure',
    withoutMachinePaths(f.message, process.cwd()),
  ]);
  return ['## Failed jobs', '', markdownTable(['arm', 'seed', 'code', 'kind', 'reason'], rows)].join('\n');
}

function studyMarkdown(
  study: StudyDefinition,
  summary: StudySummary,
  jobs: readonly JobResult[],
  meta: StudyRunMeta,
  plots: readonly { file: string; alt: string }[],
): string {
  const parts = [
    `# Study \`${study.name}\``,
    '',
    study.description,
    ...(study.answers ? ['', `Answers **${study.answers.report}**: ${study.answers.question}`] : []),
    '',
    setupSection(study, summary, meta),
    '',
    armsSection(study, summary),
    '',
    '## Comparisons',
    '',
    ...(summary.comparisons.length
      ? summary.comparisons.flatMap((c) => [comparisonSection(c), ''])
      : ['The study defines no comparisons.', '']),
    WHICH_TEST,
    '',
    '## Plots',
    '',
    ...(plots.length
      ? plots.flatMap((p, i) => [...(i > 0 ? [''] : []), `![${p.alt}](${p.file})`])
      : ['None: no job finished.']),
    '',
    machinesSection(jobs),
    '',
    failedSection(summary),
    '',
  ];
  return parts.join('\n');
}

function accuracyPlot(study: StudyDefinition, summary: StudySummary, jobs: readonly JobResult[]) {
  if (summary.jobs.done === 0) return undefined;
  return pointIntervalChart(
    summary.arms.map((arm) => {
      const s = arm.testAccuracy;
      return {
        name: arm.name,
        values: jobs
          .filter((j) => j.arm === arm.name && j.status === 'done')
          .map((j) => j.testAccuracy! * 100),
        ...(s.mean !== null ? { center: s.mean * 100 } : {}),
        ...(s.ci95 ? { low: s.ci95[0] * 100, high: s.ci95[1] * 100 } : {}),
      };
    }),
    {
      title: `${study.name}: test accuracy per seed, mean and 95 % CI`,
      yLabel: 'test accuracy (%)',
      format: '.2f',
    },
  );
}

/**
 * Learning curves of every arm on one chart: validation accuracy (%) when every arm with curves
 * has it (one figure for all arms, so they compare), otherwise training loss.
 */
function curvesPlot(study: StudyDefinition, summary: StudySummary) {
  const arms = summary.arms.filter((a) => a.curves.length > 0);
  if (arms.length === 0) return undefined;
  const validation = arms.every((a) => a.curves.some((e) => e.valAccuracy));
  const label = validation ? 'validation accuracy (%)' : 'training loss';
  const scale = validation ? 100 : 1;
  const series = arms
    .map((arm) => ({
      name: arm.name,
      points: arm.curves.flatMap((e) => {
        const m = validation ? e.valAccuracy : e.loss;
        if (!m) return [];
        const band = m.sd === null ? {} : { low: (m.mean - m.sd) * scale, high: (m.mean + m.sd) * scale };
        return [{ x: e.epoch, y: m.mean * scale, ...band }];
      }),
    }))
    .filter((s) => s.points.length > 0);
  const plot = bandChart(series, {
    title: `${study.name}: ${label} per epoch, mean ± sd over seeds`,
    xLabel: 'epoch',
    yLabel: label,
    integerX: true,
  });
  return { plot, label };
}
