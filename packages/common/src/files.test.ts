import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRegularFile, readRegularFileSync } from './index.js';

const posix = process.platform !== 'win32';
let dir: string;
const writers: ChildProcess[] = [];
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lenet-common-files-'));
});
afterAll(async () => {
  for (const w of writers) w.kill();
  await rm(dir, { recursive: true, force: true });
});

/**
 * A FIFO with a writer that opens it after a while, so that a reader which blocks on the open
 * (the bug) is released eventually and the test fails instead of hanging the test process.
 */
function fifo(name: string): string {
  const path = join(dir, name);
  execFileSync('mkfifo', [path]);
  writers.push(spawn('sh', ['-c', `sleep 2; exec 3>"${path}"`], { stdio: 'ignore' }));
  return path;
}

const fail = (reason: string) => new Error(`X: ${reason}`);

describe('readRegularFile', () => {
  it('reads a regular file within the limit and refuses a longer one before reading', async () => {
    const file = join(dir, 'ten.bin');
    await writeFile(file, Buffer.alloc(10, 7));
    expect([...(await readRegularFile(file, fail, { maxBytes: 10 }))]).toEqual(new Array(10).fill(7));
    expect([...readRegularFileSync(file, fail)]).toHaveLength(10);
    await expect(
      readRegularFile(file, fail, { maxBytes: 9, maxBytesOption: 'maxSpecBytes' }),
    ).rejects.toThrow('X: is 10 bytes, more than the 9-byte limit (raise it with the maxSpecBytes option)');
    expect(() => readRegularFileSync(file, fail, { maxBytes: 4 })).toThrow(/more than the 4-byte limit/);
  });

  it('says in words what is missing or not a file', async () => {
    await expect(readRegularFile(join(dir, 'nope'), fail)).rejects.toThrow('X: missing: no such file');
    await expect(readRegularFile(dir, fail)).rejects.toThrow('X: is a directory, expected a file');
    expect(() => readRegularFileSync(dir, fail)).toThrow('X: is a directory, expected a file');
  });

  it.runIf(posix)('refuses a FIFO at once instead of waiting for a writer (async and sync)', async () => {
    const path = fifo('pipe');
    const started = Date.now();
    await expect(readRegularFile(path, fail)).rejects.toThrow(
      'X: is a FIFO (named pipe), not a regular file: only regular files are read as data',
    );
    expect(() => readRegularFileSync(path, fail)).toThrow(/is a FIFO \(named pipe\)/);
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it.runIf(posix)('refuses a device, whose reads never end', async () => {
    await expect(readRegularFile('/dev/zero', fail)).rejects.toThrow(
      /is a character device, not a regular file/,
    );
    expect(() => readRegularFileSync('/dev/zero', fail)).toThrow(/is a character device/);
  });
});
