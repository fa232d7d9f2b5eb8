import { ALL_BACKENDS, type BenchBackend, type BenchResult } from '../types.js';

/** What names a machine in a merged report: the figures of two machines are not comparable as ratios. */
export interface MachineIdentity {
  /** The hostname, or `unknown host` for a file written before results recorded it. */
  hostname: string;
  cpuModel: string;
  cores: number;
  totalMemoryMb: number;
  /** OS and kernel (`Linux 6.1.0-18-amd64`), or the platform (`linux x64`) for an older file. */
  os: string;
  platform: string;
  node: string;
  /** The columns with at least one measured cell in this run, in table order. */
  backends: BenchBackend[];
}

/** The hostname older results files (written before it was recorded) are shown with. */
export const UNKNOWN_HOST = 'unknown host';

/** The machine a run was measured on, from its results. */
export function machineOf(r: BenchResult): MachineIdentity {
  const e = r.env;
  return {
    hostname: e.hostname || UNKNOWN_HOST,
    cpuModel: e.cpuModel,
    cores: e.cores,
    totalMemoryMb: e.totalMemoryMb,
    os: e.os ?? e.platform,
    platform: e.platform,
    node: e.node,
    backends: ALL_BACKENDS.filter((b) => r.cells.some((c) => c.backend === b && c.status === 'ok')),
  };
}

/**
 * The key two runs of one machine share: hostname and hardware. Node, the OS release and the
 * backends installed may change between two runs of the same machine; the figures stay its own.
 */
export function machineKey(m: MachineIdentity): string {
  return JSON.stringify([m.hostname, m.cpuModel, m.cores, m.totalMemoryMb, m.platform]);
}

/** `host-a: AMD EPYC 7B13, 2 cores; wasm, ort-cpu`: the machine as column headers name it. */
export function machineLabel(m: MachineIdentity): string {
  const backends = m.backends.length > 0 ? m.backends.join(', ') : 'no backend measured';
  return `${m.hostname}: ${m.cpuModel}, ${m.cores} cores; ${backends}`;
}

/** How much of the start time a label shows: to the minute, the second, or the millisecond. */
export type TimePrecision = 'minute' | 'second' | 'ms';

const TIME_END: Record<TimePrecision, number> = { minute: 16, second: 19, ms: 23 };

/** A run's start time for a label, in UTC: `2026-11-29 21:48 UTC`. */
export function runTime(date: string, precision: TimePrecision = 'minute'): string {
  const iso = new Date(date).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, TIME_END[precision])} UTC`;
}

/** The coarsest precision that tells these start times apart (they are distinct). */
export function distinctPrecision(dates: readonly string[]): TimePrecision {
  const distinct = (p: TimePrecision): boolean =>
    new Set(dates.map((d) => runTime(d, p))).size === dates.length;
  return distinct('minute') ? 'minute' : distinct('second') ? 'second' : 'ms';
}
