import type { BackendInfo } from '@lenet/backend';
import type { CliIo } from './io.js';

/** Backend names `--backend` accepts. */
export const CLI_BACKENDS = ['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type CliBackend = (typeof CLI_BACKENDS)[number];

/** Activates the requested backend and says on stderr which one runs and why others do not. */
export async function activateBackend(name: CliBackend, io: CliIo, quiet = false): Promise<BackendInfo> {
  const { useBackend } = await import('@lenet/backend');
  const info = await useBackend(name);
  if (!quiet) {
    const skipped = info.skipped
      .filter((s) => s.reason !== 'lower priority')
      .map((s) => `${s.name}: ${s.reason}`)
      .join('; ');
    io.err(`backend: ${info.name}${skipped ? ` (not used: ${skipped})` : ''}\n`);
  }
  return info;
}
