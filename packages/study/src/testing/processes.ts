// Test helper: a coordinator of the built package (coordinator-main.mjs) as a real process.
import { fileURLToPath } from 'node:url';
import { Proc } from '@lenet/testing';

const COORDINATOR = fileURLToPath(new URL('./coordinator-main.mjs', import.meta.url));

/** A coordinator process running `jobsFile`'s jobs on `queue`, keeping results in `storeDir`. */
export function startCoordinator(
  queue: string,
  jobsFile: string,
  storeDir: string,
  env?: NodeJS.ProcessEnv,
): Proc {
  return new Proc([COORDINATOR, queue, jobsFile, storeDir], env);
}
