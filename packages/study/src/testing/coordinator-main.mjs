// Test helper: a coordinator in its own process (so that a test can SIGKILL it), on the built
// package. Usage: node coordinator-main.mjs <queue-url> <jobs.json> <store-dir>
// Prints `log <line>`, `result <id> <status> <done>/<total>`, then `results <json>` or `error <code> <message>`.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '@lenet/common';
import { runJobsOnQueue } from '@lenet/study';

const [queue, jobsFile, storeDir] = process.argv.slice(2);
const jobs = JSON.parse(await readFile(jobsFile, 'utf8'));
/** A result store of one JSON file per job, written atomically. */
const store = {
  async get(id) {
    try {
      return JSON.parse(await readFile(join(storeDir, `${id}.json`), 'utf8'));
    } catch (e) {
      if (e.code === 'ENOENT') return undefined;
      throw e;
    }
  },
  put: (result) => writeFileAtomic(join(storeDir, `${result.id}.json`), JSON.stringify(result)),
};
try {
  const results = await runJobsOnQueue(jobs, {
    queue,
    store,
    log: (line) => console.log(`log ${line}`),
    onResult: (r, done, total) => console.log(`result ${r.id} ${r.status} ${done}/${total}`),
  });
  console.log(`results ${JSON.stringify(results)}`);
} catch (e) {
  console.log(`error ${e.code ?? 'unknown'} ${e.message}`);
  process.exitCode = 1;
}
