import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isProcessAlive, LenetError } from '@lenet/common';
import { BadInputError } from './errors.js';
import { type Interrupt, listenForInterrupt } from './interrupt.js';
import type { CliIo } from './io.js';

/** The lock file in a run directory. */
export const LOCK_FILE = 'run.lock';

/** What a lock file holds: who holds the run directory. */
interface Holder {
  pid: number;
  host: string;
  started: string;
  command: string;
}

/** A run directory held by another live run. Code `RUN_DIR_LOCKED`, exit code 2 (choose another `--out`). */
export class RunDirLockedError extends LenetError<'RUN_DIR_LOCKED'> {
  override name = 'RunDirLockedError';

  constructor(message: string) {
    super('RUN_DIR_LOCKED', message);
  }
}

/** A held run directory; `release` removes the lock (synchronously, so a signal handler can). */
export interface RunLock {
  readonly file: string;
  release(): void;
}

/** A lock file nobody could have been writing for this long is a leftover, even when unreadable. */
const UNREADABLE_STALE_MS = 10_000;

/** The holder, null when the file is unreadable or partial, 'gone' when it no longer exists. */
function readHolder(file: string): Holder | null | 'gone' {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'gone' : null;
  }
  try {
    const h = JSON.parse(text) as Partial<Holder>;
    return Number.isInteger(h.pid) && typeof h.host === 'string'
      ? { pid: h.pid as number, host: h.host, started: String(h.started), command: String(h.command) }
      : null;
  } catch {
    return null;
  }
}

function ageMs(file: string): number {
  try {
    return Date.now() - statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}

/**
 * Creates `file` with `text` only if it does not exist; false if it exists. The text is written
 * to a temporary file first and hard-linked into place (link fails if the name exists), so the
 * file appears whole: a racing run never reads it empty and can always name its holder.
 */
function createExclusive(file: string, text: string): boolean {
  const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const fd = openSync(temp, 'wx');
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(temp, file);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  } finally {
    rmSync(temp, { force: true });
  }
}

/**
 * Removes the lock file of a dead holder unless another process got there first: a second
 * exclusive file serialises the take-overs, and the lock is removed only if it still names `dead`.
 */
function takeOver(file: string, dead: Holder | null): boolean {
  const guard = `${file}.takeover`;
  if (!createExclusive(guard, `${process.pid}\n`)) {
    if (ageMs(guard) > UNREADABLE_STALE_MS) rmSync(guard, { force: true });
    return false;
  }
  try {
    const now = readHolder(file);
    const same =
      now === 'gone' ||
      (dead === null ? now === null : now !== null && now.pid === dead.pid && now.started === dead.started);
    if (same) rmSync(file, { force: true });
    return same;
  } finally {
    rmSync(guard, { force: true });
  }
}

function describe(h: Holder): string {
  return `pid ${h.pid} on ${h.host}, started ${h.started} (${h.command})`;
}

/**
 * Takes the exclusive lock of run directory `dir` (which must exist): a lock file created with
 * O_EXCL holding this process's pid, host and start time. A lock left by a process of this host
 * that is no longer alive (or an unreadable one older than 10 s) is taken over, with a notice;
 * a live holder, or one on another host, gives a {@link RunDirLockedError} naming it.
 */
export async function lockRunDir(
  dir: string,
  command: string,
  notice: (message: string) => void,
): Promise<RunLock> {
  const file = join(dir, LOCK_FILE);
  const me: Holder = { pid: process.pid, host: hostname(), started: new Date().toISOString(), command };
  for (let attempt = 0; attempt < 50; attempt++) {
    if (createExclusive(file, `${JSON.stringify(me)}\n`)) {
      let held = true;
      return {
        file,
        release() {
          if (!held) return;
          held = false;
          const h = readHolder(file);
          if (h !== null && h !== 'gone' && h.pid === me.pid && h.started === me.started)
            rmSync(file, { force: true });
        },
      };
    }
    const holder = readHolder(file);
    if (holder === 'gone') continue;
    if (holder === null) {
      if (ageMs(file) < UNREADABLE_STALE_MS) {
        throw new RunDirLockedError(
          `${dir} is in use by another run (its lock file ${file} is being written); wait for it, or choose another --out`,
        );
      }
      if (takeOver(file, null)) notice(`taking over an unreadable, stale lock: ${file}\n`);
    } else if (holder.host === me.host && !isProcessAlive(holder.pid)) {
      if (takeOver(file, holder))
        notice(`taking over the lock of a run that is no longer running (${describe(holder)}): ${file}\n`);
    } else {
      const elsewhere =
        holder.host === me.host ? '' : ` (another host: if no run there uses this directory, delete ${file})`;
      throw new RunDirLockedError(
        `${dir} is in use by another run: ${describe(holder)}; lock file ${file}${elsewhere}. Wait for it to finish, or choose another --out`,
      );
    }
    await sleep(20);
  }
  throw new RunDirLockedError(
    `${dir}: could not take the lock ${file} (other runs keep taking it); try again`,
  );
}

/**
 * Runs `work` in run directory `out` (created if missing) while holding its lock, with Ctrl-C
 * handling: `work` gets the {@link Interrupt} (a first Ctrl-C aborts its signal), a second Ctrl-C
 * releases the lock and exits. The lock is released when `work` ends, however it ends. `stopping`
 * says what the first Ctrl-C does.
 */
export async function inLockedRunDir<T>(
  out: string,
  command: string,
  io: CliIo,
  work: (interrupt: Interrupt) => Promise<T>,
  stopping?: string,
): Promise<T> {
  try {
    await mkdir(out, { recursive: true });
  } catch (e) {
    throw new BadInputError(`${out}: cannot create the run directory (${(e as Error).message})`, {
      cause: e,
    });
  }
  // Listening first: whenever the lock file exists, a Ctrl-C is handled (and releases it).
  let lock: RunLock | undefined;
  const interrupt = listenForInterrupt(io, () => lock?.release(), stopping);
  try {
    lock = await lockRunDir(out, command, io.err);
    return await work(interrupt);
  } finally {
    interrupt.dispose();
    lock?.release();
  }
}
