// The result store of a run directory: one `jobs/<id>.json` per finished job, each written
// atomically as it arrives, so a killed run loses at most the jobs in progress.
import { join } from 'node:path';
import { readRegularFile, writeFileAtomic } from '@lenet/common';
import { StudyError } from './errors.js';
import { JOB_ID, jobResultProblem } from './result.js';
import type { JobResult, ResultStore } from './types.js';

/** Largest result file read back, in bytes (a result of 100 epochs is about 20 kB). */
const RESULT_MAX_BYTES = 4 << 20;

/** Options of {@link openResultStore}. */
export interface ResultStoreOptions {
  /**
   * Told once per unusable file (corrupt, foreign, unreadable), with the file named; the job is
   * then run again and its file replaced. Default: nothing (see {@link LocalResultStore.problems}).
   */
  onProblem?(message: string): void;
}

/** A {@link ResultStore} in a folder. */
export interface LocalResultStore extends ResultStore {
  /** The folder the job files are in (`<dir>/jobs`). */
  readonly dir: string;
  /** The unusable files met so far, one message each, naming the file. */
  readonly problems: readonly string[];
}

class FileStore implements LocalResultStore {
  readonly problems: string[] = [];
  private readonly reported = new Set<string>();

  constructor(
    readonly dir: string,
    private readonly onProblem: ((message: string) => void) | undefined,
  ) {}

  private file(id: string): string {
    // Ids become file names: only a job id's hex digits get near the file system.
    if (!JOB_ID.test(id)) throw new StudyError('JOB_INVALID', `not a job id: ${JSON.stringify(id)}`);
    return join(this.dir, `${id}.json`);
  }

  private problem(file: string, reason: string): undefined {
    if (!this.reported.has(file)) {
      this.reported.add(file);
      const message = `${file}: ${reason}; not used (the job runs again and replaces it)`;
      this.problems.push(message);
      this.onProblem?.(message);
    }
    return undefined;
  }

  async get(id: string): Promise<JobResult | undefined> {
    const file = this.file(id);
    let text: string;
    try {
      text = (
        await readRegularFile(file, (reason, cause) => Object.assign(new Error(reason), { cause }), {
          maxBytes: RESULT_MAX_BYTES,
        })
      ).toString('utf8');
    } catch (e) {
      const code = ((e as Error).cause as NodeJS.ErrnoException | undefined)?.code;
      if (code === 'ENOENT') return undefined;
      return this.problem(file, (e as Error).message);
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      return this.problem(file, `not valid JSON (${(e as Error).message})`);
    }
    const problem = jobResultProblem(value, id);
    return problem === undefined ? (value as JobResult) : this.problem(file, problem);
  }

  async put(result: JobResult): Promise<void> {
    await writeFileAtomic(this.file(result.id), `${JSON.stringify(result, null, 2)}\n`);
  }
}

/**
 * The result store of run directory `dir`: job results in `dir/jobs/<id>.json`, written atomically
 * (a reader never sees half a file). A file that is corrupt, too big, not a regular file or holds
 * another job's result is reported (naming it) and treated as absent, never used.
 */
export function openResultStore(dir: string, options: ResultStoreOptions = {}): LocalResultStore {
  return new FileStore(join(dir, 'jobs'), options.onProblem);
}
