import { BenchUsageError } from '../errors.js';
import type { BenchResult } from '../types.js';
import {
  distinctPrecision,
  type MachineIdentity,
  machineKey,
  machineLabel,
  machineOf,
  runTime,
} from './machine.js';

/** One run of a merged report, with the machine it ran on and the label of its column. */
export interface MergedRun {
  result: BenchResult;
  /** Where the run came from, as the report names it (a file name, never an absolute path). */
  source: string;
  machine: MachineIdentity;
  /** 1-based number of its machine, in order of first appearance. */
  machineNumber: number;
  /** Whether its machine has other runs in the merge (then the label carries the run time). */
  repeated: boolean;
  /** Column header and section heading: the machine, and its run time when it ran more than once. */
  label: string;
}

/** Runs of several machines, grouped by machine (first appearance), each machine's runs by start time. */
export interface MergedResults {
  runs: MergedRun[];
  /** How many distinct machines the runs come from. */
  machines: number;
  /** What made the report (default: `` `pnpm bench --merge` ``), as its opening line names it. */
  origin?: string;
  /** Notes of whoever made it, after the merge's own (a queued run's jobs and their workers). */
  notes?: string[];
}

/**
 * Groups results of separate runs by machine for one merged report (what `pnpm bench --merge`
 * and the queue's coordinator render). Nothing is computed across runs: each keeps its own cells,
 * so ratios are only ever taken within one run. Two runs of one machine stay separate, labelled
 * by their start time.
 * @param sources how the report names each result (its file), in the order of `results`.
 * @throws BenchUsageError when the lists differ in length, are empty, or one run is given twice.
 */
export function mergeResults(results: readonly BenchResult[], sources: readonly string[]): MergedResults {
  if (results.length !== sources.length) {
    throw new BenchUsageError(
      `${results.length} results but ${sources.length} sources: give one source per result`,
    );
  }
  if (results.length === 0) throw new BenchUsageError('nothing to merge: no results given');
  const byMachine = new Map<string, { result: BenchResult; source: string; machine: MachineIdentity }[]>();
  results.forEach((result, i) => {
    const machine = machineOf(result);
    const key = machineKey(machine);
    const runs = byMachine.get(key) ?? [];
    const twin = runs.find((r) => Date.parse(r.result.env.date) === Date.parse(result.env.date));
    if (twin) {
      throw new BenchUsageError(
        `${twin.source} and ${sources[i]} are the same run (${machine.hostname}, started ${result.env.date}): give each run once`,
      );
    }
    runs.push({ result, source: sources[i], machine });
    byMachine.set(key, runs);
  });
  const merged: MergedRun[] = [];
  let machineNumber = 0;
  for (const runs of byMachine.values()) {
    machineNumber++;
    runs.sort((a, b) => Date.parse(a.result.env.date) - Date.parse(b.result.env.date));
    const repeated = runs.length > 1;
    const precision = distinctPrecision(runs.map((r) => r.result.env.date));
    for (const r of runs) {
      const when = repeated ? `; run ${runTime(r.result.env.date, precision)}` : '';
      merged.push({ ...r, machineNumber, repeated, label: `${machineLabel(r.machine)}${when}` });
    }
  }
  return { runs: merged, machines: machineNumber };
}
