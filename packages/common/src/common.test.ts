import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  abandonedOldVersions,
  argmax,
  formatDuration,
  isLenetError,
  isProcessAlive,
  LenetError,
  removeStaleTemps,
  staleTempEntries,
  writeDirAtomic,
  writeFileAtomic,
  writeFileAtomicSync,
} from './index.js';

describe('argmax', () => {
  it('picks the largest score per row, ties to the lowest index', () => {
    expect([...argmax([0.1, 0.7, 0.2, 0.5, 0.5, 0], 3)]).toEqual([1, 0]);
  });
  it('rejects a score count that is not a multiple of the classes', () => {
    expect(() => argmax([1, 2, 3], 2)).toThrow(/not a multiple of 2 classes/);
    expect(() => argmax([1], 0)).toThrow(/positive integer/);
  });
});

describe('LenetError', () => {
  it('carries a code and a kind, and is recognised by isLenetError', () => {
    const e = new LenetError('X_BAD', 'bad', { kind: 'failure' });
    expect(e.code).toBe('X_BAD');
    expect(e.kind).toBe('failure');
    expect(new LenetError('Y', 'y').kind).toBe('input');
    expect(isLenetError(e)).toBe(true);
    expect(isLenetError(new Error('plain'))).toBe(false);
  });
});

describe('writeFileAtomic', () => {
  it('writes the whole file and leaves no temp file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lenet-common-'));
    await writeFileAtomic(join(dir, 'sub', 'a.txt'), 'hello');
    expect(await readFile(join(dir, 'sub', 'a.txt'), 'utf8')).toBe('hello');
    expect(await readdir(join(dir, 'sub'))).toEqual(['a.txt']);
  });
  it('writes a list of byte parts one after another', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lenet-common-'));
    await writeFileAtomic(join(dir, 'b.bin'), [
      new Uint8Array([1, 2]),
      new Uint8Array(0),
      new Uint8Array([3]),
    ]);
    expect([...(await readFile(join(dir, 'b.bin')))]).toEqual([1, 2, 3]);
  });
  it('has a synchronous form with the same guarantees', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lenet-common-'));
    writeFileAtomicSync(join(dir, 'sub', 'c.txt'), 'sync');
    expect(await readFile(join(dir, 'sub', 'c.txt'), 'utf8')).toBe('sync');
    expect(await readdir(join(dir, 'sub'))).toEqual(['c.txt']);
    await writeDirAtomic(join(dir, 'target'), async (tmp) => writeFile(join(tmp, 'x'), 'x'));
    expect(() => writeFileAtomicSync(join(dir, 'target'), 'new')).toThrow();
    expect(await staleTempEntries(dir)).toEqual([]);
  });
  it('removes the temp file and keeps the old file when the rename fails', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lenet-common-'));
    await writeFile(join(dir, 'keep.txt'), 'old');
    // A folder in the way: rename of a file over a non-empty folder fails.
    await writeDirAtomic(join(dir, 'target'), async (tmp) => writeFile(join(tmp, 'x'), 'x'));
    await expect(writeFileAtomic(join(dir, 'target'), 'new')).rejects.toThrow();
    expect((await readdir(dir)).sort()).toEqual(['keep.txt', 'target']);
    expect(await staleTempEntries(dir)).toEqual([]);
  });
});

describe('writeDirAtomic', () => {
  it('replaces a folder whole, and a failing fill leaves the old one and no leftovers', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lenet-common-'));
    const target = join(dir, 'ckpt');
    await writeDirAtomic(target, async (tmp) => writeFile(join(tmp, 'v'), '1'));
    await expect(
      writeDirAtomic(target, async (tmp) => {
        await writeFile(join(tmp, 'v'), '2');
        throw new Error('disk full');
      }),
    ).rejects.toThrow('disk full');
    expect(await readFile(join(target, 'v'), 'utf8')).toBe('1');
    expect(await readdir(dir)).toEqual(['ckpt']);
  });
  it('staleTempEntries names leftovers of killed writes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lenet-common-'));
    await writeFile(join(dir, '.last.tmp-123-0a1b2c3d'), '');
    await writeFile(join(dir, '.last.old-9-ffffffff'), '');
    await writeFile(join(dir, 'keep'), '');
    expect((await staleTempEntries(dir)).sort()).toEqual(['.last.old-9-ffffffff', '.last.tmp-123-0a1b2c3d']);
  });
  it('removeStaleTemps removes the leftovers of dead writers only', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lenet-common-'));
    // A pid far above any pid_max: no such process.
    const dead = 2 ** 30 + 7;
    await writeFile(join(dir, `.model.onnx.tmp-${dead}-0a1b2c3d`), 'partial');
    await mkdir(join(dir, `.last.old-${dead}-ffffffff`));
    await writeFile(join(dir, `.last.old-${dead}-ffffffff`, 'state.json'), '{}');
    await writeFile(join(dir, `.report.md.tmp-${process.pid}-00000000`), 'mine, in progress');
    await writeFile(join(dir, 'keep'), '');
    expect((await removeStaleTemps(dir)).sort()).toEqual([
      `.last.old-${dead}-ffffffff`,
      `.model.onnx.tmp-${dead}-0a1b2c3d`,
    ]);
    expect((await readdir(dir)).sort()).toEqual([`.report.md.tmp-${process.pid}-00000000`, 'keep']);
    expect(isProcessAlive(process.pid)).toBe(true);
    expect(isProcessAlive(dead)).toBe(false);
  });

  it('abandonedOldVersions names the moved-aside copies of one folder whose writer is dead', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lenet-common-'));
    const dead = 2 ** 30 + 7;
    for (const name of [
      `.last.old-${dead}-ffffffff`,
      `.last.old-${process.pid}-00000000`,
      `.last.tmp-${dead}-0a1b2c3d`,
      `.best.old-${dead}-0a1b2c3d`,
    ])
      await mkdir(join(dir, name));
    expect(await abandonedOldVersions(join(dir, 'last'))).toEqual([`.last.old-${dead}-ffffffff`]);
  });
});

describe('formatDuration', () => {
  it('rounds before splitting minutes and seconds (never "1 min 60 s")', () => {
    expect(formatDuration(39.14)).toBe('39.1 s');
    expect(formatDuration(119.6)).toBe('2 min 0 s');
    expect(formatDuration(3773)).toBe('1 h 2 min');
    expect(formatDuration(Number.NaN)).toBe('unknown');
  });
});

describe('plural', () => {
  it('puts the noun in the number of the count, with thousands separators', async () => {
    const { plural } = await import('./index.js');
    expect(plural(1, 'epoch')).toBe('1 epoch');
    expect(plural(3, 'epoch')).toBe('3 epochs');
    expect(plural(10000, 'image')).toBe('10,000 images');
    expect(plural(1, 'batch', 'batches')).toBe('1 batch');
    expect(plural(2, 'batch', 'batches')).toBe('2 batches');
    expect(plural(0, 'mistake')).toBe('0 mistakes');
  });
});
