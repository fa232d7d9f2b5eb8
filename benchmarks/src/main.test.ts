import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from './main.js';
import { readResults } from './results-file.js';
import { okCell, onMachine, syntheticResult } from './testing/fixtures.js';

async function call(argv: string[], cwd?: string) {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (t) => (out += t), err: (t) => (err += t), cwd });
  return { code, out, err };
}

describe('main', () => {
  it.each([
    [['--models', 'lenet7'], "unknown model 'lenet7'"],
    [['--backends', 'webgpu'], "unknown backend 'webgpu'"],
    [['--batch-sizes', '0'], "'0' is not a batch size"],
  ])('exits 2 for %j and writes nothing', async (argv, message) => {
    const dir = await mkdtemp(join(tmpdir(), 'bench-main-'));
    const out = join(dir, 'run');
    const json = join(dir, 'out.json');
    const r = await call([...argv, '--out', out, '--json', json]);
    expect(r.code).toBe(2);
    expect(r.err).toContain(message);
    expect(r.err.startsWith('pnpm bench: ')).toBe(true);
    expect(r.out).toBe('');
    expect(existsSync(out)).toBe(false);
    expect(existsSync(json)).toBe(false);
  });

  it('compares two results files, and exits 2 for a file of another format', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bench-main-'));
    await writeFile(
      join(dir, 'old.json'),
      JSON.stringify(syntheticResult([okCell('train', 'lenet5', 'wasm', 64, 100)])),
    );
    await writeFile(
      join(dir, 'new.json'),
      JSON.stringify(syntheticResult([okCell('train', 'lenet5', 'wasm', 64, 200)])),
    );
    await writeFile(join(dir, 'other.json'), JSON.stringify({ numTotalTests: 3, testResults: [] }));
    const ok = await call(['--compare', 'old.json', 'new.json'], dir);
    expect(ok.code).toBe(0);
    expect(ok.out).toContain('| train/lenet5/wasm/b64 | 100 | 200 | 2.000 | 4.0% | **faster** |');
    const bad = await call(['--compare', 'old.json', 'other.json'], dir);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('other.json: not a lenet-bench-results v1 file');
    expect(bad.out).toBe('');
  });

  it('merges result files into one report, and exits 2 naming a bad file before writing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bench-main-'));
    const run = (hostname: string, cpuModel: string, sps: number) =>
      JSON.stringify(
        onMachine(syntheticResult([okCell('train', 'lenet5', 'wasm', 64, sps)]), {
          hostname,
          cpuModel,
          cores: 4,
          date: '2026-12-01T09:00:00.000Z',
        }),
      );
    await mkdir(join(dir, 'runs'));
    await writeFile(join(dir, 'runs', 'a.json'), run('host-a', 'CPU A', 1000));
    await writeFile(join(dir, 'b.json'), run('host-b', 'CPU B', 2500));
    await writeFile(join(dir, 'broken.json'), '{"format": "lenet-bench-results", "vers');
    const ok = await call(['--merge', 'runs/a.json', 'b.json', '--out', 'merged'], dir);
    expect(ok.err).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.out).toBe(
      [
        'Merged 2 runs from 2 machines:',
        '- host-a: CPU A, 4 cores; wasm (runs/a.json)',
        '- host-b: CPU B, 4 cores; wasm (b.json)',
        `Merged report: ${join('merged', 'results.md')}`,
        '',
      ].join('\n'),
    );
    const md = await readFile(join(dir, 'merged', 'results.md'), 'utf8');
    expect(md).toContain('| train | lenet5 | wasm | 64 | 1,000 ±2% | 2,500 ±2% |');
    expect(md).not.toContain(dir);

    const bad = await call(['--merge', 'runs/a.json', 'broken.json', '--out', 'never'], dir);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/^pnpm bench: broken\.json: not JSON \(/);
    expect(bad.out).toBe('');
    expect(existsSync(join(dir, 'never'))).toBe(false);
    const one = await call(['--merge', 'b.json'], dir);
    expect(one.code).toBe(2);
    expect(one.err).toContain('--merge needs at least two result files');
  });

  it('queue commands: a bad URL exits 2, an unreachable Redis 1 within seconds, the password nowhere', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bench-main-'));
    const bad = await call(['worker', '--queue', 'http://me:pw-123@example.com']);
    expect(bad.code).toBe(2);
    expect(bad.err).toBe(
      "pnpm bench: invalid queue URL http://me:***@example.com/: unsupported scheme 'http'; expected redis://[user:password@]host[:port][/db] or rediss://… for TLS\n",
    );
    const started = Date.now();
    const out = join(dir, 'never');
    const gone = await call(['--queue', 'redis://:pw-123@127.0.0.1:1', '--models', 'lenet5', '--out', out]);
    expect(gone.code).toBe(1);
    expect(gone.err).toContain(
      'pnpm bench: cannot reach the queue at redis://:***@127.0.0.1:1: connect ECONNREFUSED 127.0.0.1:1\n',
    );
    const worker = await call(['worker', '--queue', 'redis://:pw-123@127.0.0.1:1']);
    expect(worker.code).toBe(1);
    expect(worker.err).toContain('cannot reach the queue at redis://:***@127.0.0.1:1');
    expect(Date.now() - started).toBeLessThan(12_000);
    for (const r of [bad, gone, worker]) expect(r.err + r.out).not.toContain('pw-123');
    expect(existsSync(out)).toBe(false);
  });

  it('runs a tiny matrix for real and writes JSON and markdown', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bench-main-'));
    const out = join(dir, 'run');
    const r = await call(
      [
        '--models',
        'mlp2',
        '--backends',
        'cpu,ort-cpu',
        '--tasks',
        'infer',
        '--batch-sizes',
        '2',
        '--out',
        out,
        '--json',
        'copy.json',
      ],
      dir,
    );
    expect(r.err).not.toContain('failed');
    expect(r.code).toBe(0);
    const json = JSON.parse(await readFile(join(out, 'results.json'), 'utf8'));
    expect(json.format).toBe('lenet-bench-results');
    // quick profile: the tfjs cpu column is skipped with the reason; ONNX Runtime CPU is measured
    const cells = Object.fromEntries(json.cells.map((c: { id: string }) => [c.id, c]));
    expect(cells['infer/mlp2/cpu/b2'].status).toBe('skipped');
    expect(cells['infer/mlp2/cpu/b2'].reason).toMatch(/^quick profile/);
    expect(cells['infer/mlp2/ort-cpu/b2'].status).toBe('ok');
    expect(cells['infer/mlp2/ort-cpu/b2'].samplesPerSec).toBeGreaterThan(0);
    expect(json.env.cores).toBeGreaterThan(0);
    // what --merge names the machine by, and a file --merge and --compare accept as it is
    expect(json.env.hostname).toBe(hostname());
    expect(json.env.os).toMatch(/^\w+ \S+$/);
    expect((await readResults(join(out, 'results.json'))).cells).toHaveLength(json.cells.length);
    expect(json.env.packages['onnxruntime-node']).toMatch(/^\d+\.\d+\.\d+/);
    expect(await readFile(join(dir, 'copy.json'), 'utf8')).toContain('"lenet-bench-results"');
    const md = await readFile(join(out, 'results.md'), 'utf8');
    expect(md).toMatch(/\| mlp2 \| 2 \| [\d,]+ ±\d+% \|/);
    expect(md).toContain('Not measured (every cell skipped or failed): cpu [1].');
    expect(md).toContain('[1] quick profile (the cpu backend is ~100x slower');
    // stdout: the summary and where the full report is, not the report itself
    expect(r.out).toContain('## Summary');
    expect(r.out).toContain('- nothing was measured that answers a question (see the tables)');
    expect(r.out).toContain(`Full report: ${join('run', 'results.md')}`);
    expect(r.out).not.toContain('## Inference: samples/s');
    expect(md.startsWith(r.out.trim().split('\nFull report:')[0])).toBe(true);
  });
});
