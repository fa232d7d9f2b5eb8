// What `pnpm bench --queue` writes: one results file per machine (the jobs it ran, combined) and
// the merged report of those files, through the same merge and renderer as `--merge`, with notes
// saying which worker ran which backend, and which backend had no worker.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '@lenet/common';
import { machineKey, machineOf } from '../merge/machine.js';
import { mergeResults } from '../merge/merge.js';
import { writeMergedReport } from '../merge/render.js';
import type { RunPlan } from '../run/context.js';
import type { BenchResult } from '../types.js';
import { combineByMachine } from './combine.js';
import type { BenchJobOutcome } from './coordinator.js';
import { machineTaskBackends } from './job.js';

/** What {@link writeQueueReport} wrote. */
export interface QueueReport {
  /** The merged report (`results.md` in the run directory). */
  file: string;
  /** Each machine's results file (absolute), with its results. */
  machines: { file: string; result: BenchResult }[];
  /** The notes of the jobs (also in the report). */
  notes: string[];
}

/** File names of the machines' results: the hostname made safe, a number added to a repeated one. */
function machineFileNames(results: readonly BenchResult[]): string[] {
  const used = new Map<string, number>();
  return results.map((r) => {
    const base =
      (r.env.hostname ?? 'machine').replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_') || 'machine';
    const n = (used.get(base) ?? 0) + 1;
    used.set(base, n);
    return `${n === 1 ? base : `${base}-${n}`}.json`;
  });
}

/** The notes of a queued run: which job ran where, which failed, which had no worker. */
export function queueNotes(outcomes: readonly BenchJobOutcome[], plan: RunPlan, runId: string): string[] {
  const notes = [
    `Run ${runId} on a queue: one job per backend, each taken by a worker that has that backend (\`pnpm bench worker\`), one job at a time per worker. A machine's section combines the jobs it ran, one after the other; its ratios are between those cells only.`,
  ];
  const hosts = machineTaskBackends(plan.backends);
  const wide = (['accuracy', 'datasets'] as const).filter((t) => plan.tasks.includes(t));
  if (wide.length > 0 && hosts.accuracy)
    notes.push(`${wide.join(' and ')} ran with the ${hosts.accuracy} job.`);
  if (plan.tasks.includes('onnx-threads') && hosts.onnxThreads) {
    notes.push(`onnx-threads ran with the ${hosts.onnxThreads} job.`);
  }
  for (const o of outcomes) {
    const b = o.job.backend;
    if (o.status === 'done') {
      notes.push(
        `${b}: job ${o.id} ran on worker ${o.worker} (${o.result.env.hostname ?? 'unknown host'}) in ${o.seconds} s${o.earlier ? '; it had finished before this command looked, so it was collected, not measured again' : ''}.`,
      );
    } else if (o.status === 'failed') {
      notes.push(
        `${b}: job ${o.id} failed${o.worker ? ` on worker ${o.worker}` : ''}: ${o.reason}. Its cells are not in this report.`,
      );
    } else {
      notes.push(
        `no worker for backend ${b}: no worker took its job within ${o.waitedSeconds} s, so the job was withdrawn and its cells are not in this report. Start \`pnpm bench worker --queue <url> --backends ${b}\` on a machine that has it and run this command again with \`--run-id ${runId}\`: finished jobs are collected, not measured again.`,
      );
    }
  }
  notes.push(...overlapNotes(outcomes));
  return notes;
}

/**
 * Jobs that ran at the same time on one machine (two workers on it): their figures shared the
 * CPU, and the ratios between them mean less. One worker per machine avoids it.
 */
function overlapNotes(outcomes: readonly BenchJobOutcome[]): string[] {
  const done = outcomes.flatMap((o) => (o.status === 'done' ? [o] : []));
  const notes: string[] = [];
  done.forEach((a, i) => {
    for (const b of done.slice(i + 1)) {
      if (machineKey(machineOf(a.result)) !== machineKey(machineOf(b.result))) continue;
      if (a.startedAt < b.finishedAt && b.startedAt < a.finishedAt) {
        notes.push(
          `${a.job.backend} and ${b.job.backend} ran at the same time on ${a.result.env.hostname ?? 'one machine'} (workers ${a.worker} and ${b.worker}): they shared its CPU, so their figures are low and their ratio is not clean. Run one worker per machine.`,
        );
      }
    }
  });
  return notes;
}

/**
 * Writes a queued run's results into `dir`: `<hostname>.json` per machine (its jobs combined into
 * one results file that `--compare` and `--merge` read) and `results.md`, the merged report with
 * {@link queueNotes}. Returns undefined, writing nothing, when no job finished.
 */
export async function writeQueueReport(
  outcomes: readonly BenchJobOutcome[],
  plan: RunPlan,
  runId: string,
  dir: string,
): Promise<QueueReport | undefined> {
  const parts = outcomes.flatMap((o) => (o.status === 'done' ? [o.result] : []));
  if (parts.length === 0) return undefined;
  const results = combineByMachine(parts, plan.backends);
  const names = machineFileNames(results);
  await mkdir(dir, { recursive: true });
  const machines = await Promise.all(
    results.map(async (result, i) => {
      const file = join(dir, names[i]);
      await writeFileAtomic(file, `${JSON.stringify(result, null, 2)}\n`);
      return { file, result };
    }),
  );
  const notes = queueNotes(outcomes, plan, runId);
  const merged = { ...mergeResults(results, names), origin: `\`pnpm bench --queue\` (run ${runId})`, notes };
  return { file: await writeMergedReport(merged, dir), machines, notes };
}
