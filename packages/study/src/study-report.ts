// The report of a study run. This is the placeholder of the branch that built the local runs: it
// writes results.json only; the report with statistics, study.md and plots replaces it.
import { join } from 'node:path';
import { writeFileAtomic } from '@lenet/common';
import type { JobResult, StudyDefinition } from './types.js';

/** What {@link writeStudyReport} records besides the results. */
export interface StudyReportOptions {
  /** Wall time of the whole run, in seconds. */
  wallSeconds: number;
  /** The command that ran the study, as typed. */
  command: string;
}

/**
 * Writes the report of `study` into run directory `out`: `results.json` (`{ study, wallSeconds,
 * command, jobs }`, atomically). Returns the files written.
 */
export async function writeStudyReport(
  out: string,
  study: StudyDefinition,
  results: readonly JobResult[],
  options: StudyReportOptions,
): Promise<{ files: string[] }> {
  const file = join(out, 'results.json');
  const body = { study, wallSeconds: options.wallSeconds, command: options.command, jobs: results };
  await writeFileAtomic(file, `${JSON.stringify(body, null, 2)}\n`);
  return { files: [file] };
}
