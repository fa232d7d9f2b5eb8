import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { plural, writeFileAtomic } from '@lenet/common';
import { REPO_ROOT } from '../env.js';
import { environmentText } from '../report/details.js';
import { Footnotes, markdownTable } from '../report/format.js';
import { withoutMachinePaths } from '../report/paths.js';
import { summaryLines } from '../report/summary.js';
import { measuredOn, pushSection, SUMMARY_HEADING, tableSections } from '../report.js';
import { CROSS_MACHINE_NOTE, crossMachineSections } from './cross.js';
import { UNKNOWN_HOST } from './machine.js';
import type { MergedResults, MergedRun } from './merge.js';

/** The heading of the cross-machine part of a merged report. */
export const ACROSS_HEADING = '## Across machines: absolute figures';

/** `3 runs on 2 machines`. */
function runsOnMachines(m: MergedResults): string {
  return `${plural(m.runs.length, 'run')} on ${plural(m.machines, 'machine')}`;
}

/** One row per run: everything that names its machine, and where the run came from. */
function machinesTable(m: MergedResults): string {
  return markdownTable(
    [
      'machine',
      'hostname',
      'CPU',
      'cores',
      'memory',
      'OS',
      'Node',
      'backends measured',
      'run started',
      'profile',
      'file',
    ],
    m.runs.map((r) => [
      String(r.machineNumber),
      r.machine.hostname,
      r.machine.cpuModel,
      String(r.machine.cores),
      `${(r.machine.totalMemoryMb / 1024).toFixed(1)} GiB`,
      r.machine.os,
      r.machine.node,
      r.machine.backends.join(', ') || 'none',
      r.result.env.date,
      r.result.options.profile,
      r.source,
    ]),
  );
}

/** The notes of the merge: no cross-machine ratio, repeated machines, mixed profiles, older files. */
function mergeNotes(m: MergedResults): string[] {
  const notes = [CROSS_MACHINE_NOTE];
  const machines = [...new Set(m.runs.map((r) => r.machineNumber))];
  for (const n of machines) {
    const runs = m.runs.filter((r) => r.machineNumber === n);
    if (runs.length < 2) continue;
    notes.push(
      `${runs[0].machine.hostname} (${runs[0].machine.cpuModel}) ran ${runs.length} times (${runs.map((r) => r.source).join(', ')}): each run is its own section and column, labelled by its start time, and its ratios are within that run. \`pnpm bench --compare OLD.json NEW.json\` says which differences between two runs exceed their noise.`,
    );
  }
  const profiles = [...new Set(m.runs.map((r) => r.result.options.profile))];
  if (profiles.length > 1) {
    notes.push(
      `The runs used different profiles (${m.runs.map((r) => `${r.source}: ${r.result.options.profile}`).join(', ')}): their timing and accuracy training budgets differ, so even one cell's figures were measured differently.`,
    );
  }
  const unnamed = m.runs.filter((r) => r.machine.hostname === UNKNOWN_HOST);
  if (unnamed.length > 0) {
    notes.push(
      `${unnamed.map((r) => r.source).join(', ')} ${unnamed.length > 1 ? 'were' : 'was'} written before results recorded the hostname and OS: such a machine is named by its CPU, cores and memory only.`,
    );
  }
  return notes;
}

/** One run's section: where it ran, its own tables (ratios within the run), its environment. */
function runSection(parts: string[], run: MergedRun): void {
  const notes = new Footnotes();
  parts.push(`## ${run.label}`, '', `${measuredOn(run.result)} From ${run.source}.`, '');
  for (const s of tableSections(run.result, notes)) pushSection(parts, `### ${s.title}`, s.body);
  pushSection(parts, '### Environment', [environmentText(run.result)]);
  if (notes.size > 0) pushSection(parts, '### Why cells were skipped', [notes.render()]);
  if (run.result.notes.length > 0) {
    pushSection(parts, '### Notes of the run', [run.result.notes.map((n) => `- ${n}`).join('\n')]);
  }
}

/**
 * The merged report: the summary (each run's headline ratios, computed within that run), the
 * machines, one section per run with its own tables exactly as its report has them, the
 * cross-machine tables of absolute figures (one column per run, the machine in its header), and
 * the notes. No machine path is left in it.
 */
export function renderMergedMarkdown(m: MergedResults): string {
  const parts = [
    `# LeNet benchmark: ${runsOnMachines(m)} (merged)`,
    '',
    `Merged by ${m.origin ?? '`pnpm bench --merge`'} from ${m.runs.map((r) => r.source).join(', ')}. Every ratio is computed within one run, between cells measured on the same machine at the same time; across machines the report gives absolute figures side by side.`,
    '',
    SUMMARY_HEADING,
    '',
  ];
  for (const run of m.runs) {
    const lines = summaryLines(run.result);
    parts.push(
      `### ${run.label}`,
      '',
      measuredOn(run.result),
      '',
      ...(lines.length > 0 ? lines : ['- nothing was measured that answers a question (see the tables)']),
      '',
    );
  }
  pushSection(parts, '## Machines', [machinesTable(m)]);
  for (const run of m.runs) runSection(parts, run);
  const notes = new Footnotes();
  const across = crossMachineSections(m.runs, notes).filter((s) => s.body.some((b) => b !== undefined));
  parts.push(
    ACROSS_HEADING,
    '',
    across.length > 0
      ? 'One column per run, the machine named in its header. These are absolute figures: no column is divided by another (see the notes).'
      : 'No cell was measured in any run.',
    '',
  );
  for (const s of across) pushSection(parts, `### ${s.title}`, s.body);
  if (notes.size > 0) pushSection(parts, '### Why cells were skipped', [notes.render()]);
  pushSection(parts, '## Notes', [[...mergeNotes(m), ...(m.notes ?? [])].map((n) => `- ${n}`).join('\n')]);
  return withoutMachinePaths(parts.join('\n'), REPO_ROOT);
}

/** Writes the merged report as `results.md` in `dir` (atomically); returns its path. */
export async function writeMergedReport(m: MergedResults, dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const file = join(dir, 'results.md');
  await writeFileAtomic(file, renderMergedMarkdown(m));
  return file;
}
