import { cpus, hostname, platform, totalmem } from 'node:os';
import type { MachineInfo } from './types.js';

/** This machine, as a job result records it: host name, CPU, memory and Node version (no paths). */
export function machineInfo(): MachineInfo {
  const cores = cpus();
  return {
    hostname: hostname(),
    platform: `${platform()}-${process.arch}`,
    cpuModel: cores[0]?.model.trim() ?? 'unknown',
    cpus: cores.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
  };
}
