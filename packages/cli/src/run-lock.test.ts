import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LOCK_FILE, lockRunDir, RunDirLockedError } from './run-lock.js';

describe('lockRunDir', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('puts a whole lock file in place and no temporary file beside it; a second taker is told who holds it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lenet-lock-'));
    dirs.push(dir);
    const lock = await lockRunDir(dir, 'lenet train', () => {});
    expect(readdirSync(dir)).toEqual([LOCK_FILE]);
    expect(JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8'))).toMatchObject({
      pid: process.pid,
      host: hostname(),
      command: 'lenet train',
    });
    const second = lockRunDir(dir, 'lenet train', () => {});
    await expect(second).rejects.toThrow(RunDirLockedError);
    await expect(second).rejects.toThrow(`is in use by another run: pid ${process.pid} on ${hostname()}`);
    expect(readdirSync(dir)).toEqual([LOCK_FILE]);
    lock.release();
    expect(readdirSync(dir)).toEqual([]);
  });
});
