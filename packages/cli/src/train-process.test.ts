import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Real `lenet` processes, as a user runs them: signals, exit codes and two processes at once
// cannot be checked in-process.
const repo = fileURLToPath(new URL('../../../', import.meta.url));
const bin = join(repo, 'packages', 'cli', 'dist', 'bin.js');
const tmp = mkdtempSync(join(tmpdir(), 'lenet-cli-process-'));
/** A pid far above any pid_max: no such process. */
const DEAD = 2 ** 30 + 3;

beforeAll(() => {
  // The children run the built CLI: build it and what it imports (turbo skips what is up to date).
  execFileSync(join(repo, 'node_modules', '.bin', 'turbo'), ['run', 'build', '--filter=@lenet/cli...'], {
    cwd: repo,
    stdio: 'ignore',
  });
}, 600_000);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface Ended {
  code: number | null;
  out: string;
  err: string;
}

interface Started {
  child: ChildProcess;
  ended: Promise<Ended>;
  err: () => string;
  exited: () => boolean;
}

function start(args: string[]): Started {
  const child = spawn(process.execPath, [bin, ...args], {
    cwd: tmp,
    env: { ...process.env, CI: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (d) => (out += d));
  child.stderr?.on('data', (d) => (err += d));
  let exited = false;
  const ended = new Promise<Ended>((resolve) =>
    child.on('close', (code, signal) => {
      exited = true;
      resolve({ code, out, err: signal ? `${err}(killed by ${signal})` : err });
    }),
  );
  return { child, ended, err: () => err, exited: () => exited };
}

const lenet = (...args: string[]) => start(args).ended;

/** Waits until `ready`, failing at once with the child's stderr if it ended first. */
async function until(what: string, p: Started, ready: () => boolean, ms = 100_000): Promise<void> {
  const started = Date.now();
  while (!ready()) {
    if (p.exited() || Date.now() - started > ms) {
      throw new Error(`${p.exited() ? 'ended' : 'timed out'} before ${what}; stderr: ${p.err()}`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** History without its timings, which differ from run to run. */
function history(dir: string): unknown[] {
  const rows = JSON.parse(readFileSync(join(dir, 'history.json'), 'utf8')) as Record<string, unknown>[];
  return rows.map(({ samplesPerSecond: _s, epochSeconds: _e, ...rest }) => rest);
}

// 125 batches an epoch: long enough for a signal to land inside one.
const quick = [
  '--limit',
  '4000',
  '--batch-size',
  '32',
  '--val-fraction',
  '0',
  '--backend',
  'wasm',
  '--no-onnx',
];

describe('lenet train: Ctrl-C in a real process', () => {
  it('stops after the current batch with exit 130 and a checkpoint inside the epoch; --resume ends as an uninterrupted run', async () => {
    const straight = join(tmp, 'straight');
    const run = join(tmp, 'interrupted');
    const full = await lenet('train', ...quick, '--epochs', '2', '--out', straight, '--json');
    expect(full.err).not.toMatch(/lenet: /);
    expect(full.code).toBe(0);

    const p = start(['train', ...quick, '--epochs', '2', '--out', run, '--json']);
    await until('the first epoch', p, () => existsSync(join(run, 'checkpoints', 'last', 'state.json')));
    // Into epoch 2 by about a third of an epoch: a fixed delay lands before its first batch on a
    // busy machine (the end of epoch 1 is still being written) or after its last on a quiet one
    // (a compiled step makes an epoch of 125 batches well under a second).
    // (history.json is written before the checkpoint: its callback comes first.)
    const [epoch1] = JSON.parse(readFileSync(join(run, 'history.json'), 'utf8')) as {
      epochSeconds: number;
    }[];
    await new Promise((r) => setTimeout(r, Math.max(50, (epoch1?.epochSeconds ?? 0.3) * 350)));
    p.child.kill('SIGINT');
    const stopped = await p.ended;
    expect(stopped.code).toBe(130);
    expect(stopped.err).toContain('interrupted: stopping after this batch (Ctrl-C again to quit now)');
    expect(stopped.err).toMatch(
      /lenet: interrupted in epoch 2 after batch \d+\/125: resumable checkpoint in .*checkpoints\/last; continue with: lenet train --resume /,
    );
    const summary = JSON.parse(stopped.out) as {
      stopped: { reason: string };
      epochs: number;
      resume: string;
    };
    expect(summary.stopped.reason).toBe('interrupted (Ctrl-C)');
    expect(summary.epochs).toBe(1);
    expect(summary.resume).toBe(`lenet train --resume ${run}`);
    const state = JSON.parse(readFileSync(join(run, 'checkpoints', 'last', 'state.json'), 'utf8')) as {
      version: number;
      epoch: number;
      position: { batch: number };
    };
    expect(state.version).toBe(2);
    expect(state.epoch).toBe(1);
    expect(state.position.batch).toBeGreaterThan(0);
    expect(state.position.batch).toBeLessThan(125);
    // Nothing exported from a stopped run, and the lock is gone.
    for (const f of ['model', 'result.json', 'run.lock']) expect(existsSync(join(run, f)), f).toBe(false);

    const resumed = await lenet('train', '--resume', run, '--json');
    expect(resumed.err).not.toMatch(/lenet: /);
    expect(resumed.code).toBe(0);
    expect(
      readFileSync(join(run, 'model', 'weights.bin')).equals(
        readFileSync(join(straight, 'model', 'weights.bin')),
      ),
    ).toBe(true);
    expect(history(run)).toEqual(history(straight));
    const a = JSON.parse(full.out) as { testAccuracy: number };
    const b = JSON.parse(resumed.out) as { testAccuracy: number };
    expect(b.testAccuracy).toBe(a.testAccuracy);
  });

  it('exits 130 at once on a second Ctrl-C, releasing the run directory', async () => {
    const run = join(tmp, 'twice');
    const p = start(['train', ...quick, '--epochs', '20', '--out', run]);
    // While the data loads: the first Ctrl-C can only be acted on once training starts.
    await until('the run lock', p, () => existsSync(join(run, 'run.lock')));
    p.child.kill('SIGINT');
    await until('the first Ctrl-C', p, () => p.err().includes('Ctrl-C again to quit now'));
    p.child.kill('SIGINT');
    const r = await p.ended;
    expect(r.code).toBe(130);
    expect(r.err).not.toContain('continue with');
    expect(existsSync(join(run, 'run.lock'))).toBe(false);
  });
});

describe('lenet train: one run per run directory', () => {
  it('lets one of two processes racing for the same --out run; the other exits 2 naming the holder', async () => {
    const run = join(tmp, 'race');
    const args = ['train', '--limit', '300', '--epochs', '1', '--backend', 'wasm', '--no-onnx', '--out', run];
    const a = start(args);
    const b = start(args);
    const [ra, rb] = await Promise.all([a.ended, b.ended]);
    expect([ra.code, rb.code].sort()).toEqual([0, 2]);
    const [winner, loser] = ra.code === 0 ? [a, rb] : [b, ra];
    expect(loser.err.trim()).toMatch(
      new RegExp(
        `^lenet: ${run} is in use by another run: pid ${winner.child.pid} on ${hostname()}, started .* \\(lenet train\\); lock file ${run}/run\\.lock\\. Wait for it to finish, or choose another --out$`,
      ),
    );
    expect(existsSync(join(run, 'run.lock'))).toBe(false);
  });
});

describe('lenet train: a NaN loss', () => {
  it('exits 1 with nothing exported, or exported all the same with --export-anyway', async () => {
    const run = join(tmp, 'nan');
    const args = ['train', '--lr', '1e6', '--limit', '500', '--epochs', '1', '--backend', 'wasm'];
    const r = await lenet(...args, '--out', run);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/lenet: loss became NaN or infinite at epoch 1, batch \d+ .*; nothing exported/);
    for (const f of ['model', 'model.onnx', 'result.json', 'checkpoints/last'])
      expect(existsSync(join(run, f)), f).toBe(false);
    const anyway = join(tmp, 'nan-anyway');
    const e = await lenet(...args, '--no-onnx', '--export-anyway', '--out', anyway);
    expect(e.code).toBe(1);
    expect(e.err).toMatch(/exported all the same \(--export-anyway\)/);
    expect(existsSync(join(anyway, 'model', 'model.json'))).toBe(true);
  });
});

describe('lenet train: what killed runs leave behind', () => {
  it('takes over a dead run’s lock, recovers a checkpoint left between its two renames and removes stale temp files', async () => {
    const run = join(tmp, 'leftovers');
    const first = await lenet(
      'train',
      '--limit',
      '300',
      '--epochs',
      '1',
      '--backend',
      'wasm',
      '--no-onnx',
      '--out',
      run,
    );
    expect(first.code).toBe(0);
    // As a run killed by SIGKILL leaves it: its lock, temp files of atomic writes, and last/
    // moved aside just before the new checkpoint was to be moved in.
    const lock = { pid: DEAD, host: hostname(), started: '2020-01-01T00:00:00.000Z', command: 'lenet train' };
    writeFileSync(join(run, 'run.lock'), JSON.stringify(lock));
    renameSync(join(run, 'checkpoints', 'last'), join(run, 'checkpoints', `.last.old-${DEAD}-0a1b2c3d`));
    mkdirSync(join(run, 'checkpoints', `.last.tmp-${DEAD}-00ff00ff`));
    writeFileSync(join(run, 'checkpoints', `.last.tmp-${DEAD}-00ff00ff`, 'weights.bin'), 'partial');
    writeFileSync(join(run, `.model.onnx.tmp-${DEAD}-12345678`), 'partial');
    writeFileSync(join(run, 'model', `.weights.bin.tmp-${DEAD}-9abcdef0`), 'partial');

    const r = await lenet('train', '--resume', run);
    expect(r.code).toBe(0);
    expect(r.err).toContain(
      `taking over the lock of a run that is no longer running (pid ${DEAD} on ${hostname()}`,
    );
    expect(r.err).toMatch(
      /checkpoints\/last was missing: a checkpoint write was stopped between its two renames; recovered the previous checkpoint from \.last\.old-\d+-0a1b2c3d/,
    );
    expect(r.err).toMatch(/removed what an interrupted run left in .*: .*\.model\.onnx\.tmp-/);
    expect(r.err).toContain('resuming');
    for (const f of [
      'run.lock',
      `.model.onnx.tmp-${DEAD}-12345678`,
      `checkpoints/.last.tmp-${DEAD}-00ff00ff`,
      `model/.weights.bin.tmp-${DEAD}-9abcdef0`,
    ])
      expect(existsSync(join(run, f)), f).toBe(false);
    expect(existsSync(join(run, 'checkpoints', 'last', 'state.json'))).toBe(true);
  });
});
