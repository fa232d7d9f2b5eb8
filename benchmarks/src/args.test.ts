import { presetNames } from '@lenet/models';
import { describe, expect, it } from 'vitest';
import { parseBenchArgs } from './args.js';
import { BenchUsageError } from './errors.js';
import { QUICK, VARIANTS } from './profiles.js';

const parse = (...argv: string[]) => parseBenchArgs(argv, '/home/u/lenet');

function usageError(argv: string[]): BenchUsageError {
  try {
    parse(...argv);
  } catch (err) {
    expect(err).toBeInstanceOf(BenchUsageError);
    return err as BenchUsageError;
  }
  throw new Error(`expected ${argv.join(' ')} to be rejected`);
}

describe('parseBenchArgs', () => {
  it('defaults to the quick profile with every variant, backend and task', () => {
    const a = parse();
    if (a.mode !== 'run') throw new Error('not run');
    expect(a.profile.name).toBe('quick');
    expect(a.models).toEqual([...VARIANTS]);
    expect(a.models).toHaveLength(14);
    expect(a.backends).toEqual(QUICK.backends);
    expect(a.tasks).toEqual(['train', 'infer', 'accuracy', 'datasets', 'onnx-threads']);
    expect(a.batchSizes).toBeUndefined();
    expect(a.outDir).toBeUndefined();
  });

  it('has every @lenet/models preset in its matrix', () => {
    for (const name of presetNames()) expect(VARIANTS).toContain(name);
  });

  it('parses filters, the full profile and resolves paths against the starting directory', () => {
    const a = parse(
      '--',
      '--profile',
      'full',
      '--models',
      'lenet5,torch-bn',
      '--backends',
      'wasm,ort-cpu',
      '--batch-sizes',
      '1,64',
      '--tasks',
      'infer',
      '--json',
      'out.json',
      '--out',
      '/tmp/r',
    );
    if (a.mode !== 'run') throw new Error('not run');
    expect(a.profile.name).toBe('full');
    expect(a.models).toEqual(['lenet5', 'torch-bn']);
    expect(a.backends).toEqual(['wasm', 'ort-cpu']);
    expect(a.batchSizes).toEqual([1, 64]);
    expect(a.tasks).toEqual(['infer']);
    expect(a.jsonFile).toBe('/home/u/lenet/out.json');
    expect(a.outDir).toBe('/tmp/r');
  });

  it('accepts the data-parallel column wasm-2w, and the default backends include it', () => {
    const a = parse('--backends', 'wasm,wasm-2w,pytorch-cpu', '--tasks', 'train');
    if (a.mode !== 'run') throw new Error('not run');
    expect(a.backends).toEqual(['wasm', 'wasm-2w', 'pytorch-cpu']);
    expect(QUICK.backends).toContain('wasm-2w');
    expect(usageError(['--backends', 'wasm-3w']).message).toContain("unknown backend 'wasm-3w'");
  });

  it('parses --compare with two files', () => {
    expect(parse('--compare', 'a.json', 'b/new.json')).toEqual({
      mode: 'compare',
      oldFile: '/home/u/lenet/a.json',
      newFile: '/home/u/lenet/b/new.json',
    });
  });

  it('parses --merge with two or more files and an optional --out', () => {
    expect(parse('--merge', 'a.json', 'b/results.json', '/srv/c.json')).toEqual({
      mode: 'merge',
      files: ['/home/u/lenet/a.json', '/home/u/lenet/b/results.json', '/srv/c.json'],
      outDir: undefined,
    });
    expect(parse('--out', 'merged', '--merge', 'a.json', 'b.json')).toEqual({
      mode: 'merge',
      files: ['/home/u/lenet/a.json', '/home/u/lenet/b.json'],
      outDir: '/home/u/lenet/merged',
    });
  });

  it('rejects --merge with fewer than two files, a file twice, or run options', () => {
    expect(usageError(['--merge', 'a.json']).message).toBe(
      '--merge needs at least two result files: --merge A.json B.json ... (got 1)',
    );
    expect(usageError(['--merge']).message).toContain('(got 0)');
    expect(usageError(['--merge', 'a.json', './a.json']).message).toBe("--merge: './a.json' is given twice");
    expect(usageError(['--merge', '--profile', 'quick', 'a.json', 'b.json']).message).toBe(
      '--merge does not mix with --profile: a merge runs nothing, it reads result files (only --out goes with it)',
    );
    expect(
      usageError(['--merge', 'a.json', 'b.json', '--models', 'lenet5', '--json', 'x.json']).message,
    ).toContain('--merge does not mix with --models, --json');
    expect(usageError(['--merge', 'a.json', 'b.json', '--out', '']).message).toBe('--out: empty path');
    expect(usageError(['--merge', '--compare', 'a.json', 'b.json']).message).toContain(
      '--compare takes two files and no other option (got --merge)',
    );
  });

  it('rejects unknown models and backends, naming them and the known ones', () => {
    expect(usageError(['--models', 'lenet5,lenet7']).message).toBe(
      `--models: unknown model 'lenet7' (known: ${VARIANTS.join(', ')})`,
    );
    const e = usageError(['--backends', 'webgl']);
    expect(e.message).toContain("unknown backend 'webgl'");
    expect(e.message).toContain(
      'tensorflow-gpu, tensorflow, wasm, cpu, wasm-1w, wasm-2w, ort-cuda, ort-cpu, pytorch-cpu',
    );
    expect(e.exitCode).toBe(2);
  });

  it('rejects batch size 0, negative, fractional, huge and non-numeric sizes', () => {
    for (const bad of ['0', '-1', '1.5', '99999', 'abc', '64,0']) {
      expect(usageError([`--batch-sizes=${bad}`]).message).toMatch(
        /^--batch-sizes: '.+' is not a batch size \(an integer from 1 to 4096\)$/,
      );
    }
  });

  it('rejects unknown profiles, options, stray arguments, empty and duplicate lists', () => {
    expect(usageError(['--profile', 'medium']).message).toBe(
      "--profile: unknown profile 'medium' (known: quick, full)",
    );
    expect(usageError(['--fast']).message).toMatch(/Unknown option '--fast'/);
    expect(usageError(['extra']).message).toBe("unexpected argument 'extra' (see --help)");
    expect(usageError(['--models', ',']).message).toBe('--models: empty list');
    expect(usageError(['--models', 'lenet5,lenet5']).message).toBe("--models: 'lenet5' is given twice");
    expect(usageError(['--compare', 'a.json']).message).toContain('--compare needs exactly two files');
    expect(usageError(['--compare', 'a.json', 'b.json', '--profile', 'full']).message).toContain(
      '--compare takes two files and no other option',
    );
  });

  it('parses --queue with its run id and wait, and the worker subcommand', () => {
    const a = parse(
      '--queue',
      'redis://:pw@h:6380/1',
      '--backends',
      'wasm,cpu',
      '--run-id',
      'r-1.b_2',
      '--wait-seconds',
      '30',
    );
    if (a.mode !== 'run') throw new Error('not run');
    expect(a.queue).toEqual({ url: 'redis://:pw@h:6380/1', runId: 'r-1.b_2', waitSeconds: 30 });
    expect(a.backends).toEqual(['wasm', 'cpu']);
    const d = parse('--queue', 'redis://h');
    if (d.mode !== 'run') throw new Error('not run');
    expect(d.queue).toEqual({ url: 'redis://h', waitSeconds: 600 });
    expect(parse()).not.toHaveProperty('queue');
    expect(
      parse('worker', '--queue', 'rediss://h', '--backends', 'tensorflow-gpu,ort-cuda', '--name', 'gpu-1'),
    ).toEqual({
      mode: 'worker',
      queue: 'rediss://h',
      backends: ['tensorflow-gpu', 'ort-cuda'],
      name: 'gpu-1',
      lockSeconds: 30,
    });
    expect(parse('worker', '--queue', 'redis://h', '--lock-seconds', '5')).toEqual({
      mode: 'worker',
      queue: 'redis://h',
      lockSeconds: 5,
    });
  });

  it('rejects queue flags out of place and bad values, naming the flag', () => {
    expect(usageError(['--run-id', 'x']).message).toBe('--run-id goes with --queue only');
    expect(usageError(['--wait-seconds', '5']).message).toBe('--wait-seconds goes with --queue only');
    expect(usageError(['--name', 'w']).message).toBe('--name goes with `pnpm bench worker` only');
    expect(usageError(['--queue', 'redis://h', '--json', 'x.json']).message).toMatch(
      /^--json does not go with --queue/,
    );
    expect(usageError(['--queue', 'redis://h', '--run-id', 'a/b']).message).toBe(
      "--run-id: 'a/b' is not a run id (1 to 64 letters, digits, '.', '_' or '-')",
    );
    expect(usageError(['--queue', 'redis://h', '--wait-seconds', '0']).message).toBe(
      "--wait-seconds: '0' is not a number of seconds (an integer from 1 to 604800)",
    );
    expect(usageError(['--queue', '']).message).toBe('--queue: empty URL');
    expect(usageError(['--merge', 'a.json', 'b.json', '--queue', 'redis://h']).message).toContain(
      '--merge does not mix with --queue',
    );
    expect(usageError(['worker']).message).toMatch(/^worker needs --queue/);
    expect(usageError(['worker', '--queue', 'redis://h', '--models', 'lenet5']).message).toBe(
      'worker takes --queue, --backends, --name and --lock-seconds only (got --models): the plan comes with each job',
    );
    expect(usageError(['worker', '--queue', 'redis://h', '--backends', 'webgpu']).message).toContain(
      "--backends: unknown backend 'webgpu'",
    );
    expect(usageError(['worker', '--queue', 'redis://h', '--name', 'a b']).message).toMatch(
      /^--name: 'a b' is not a worker name/,
    );
    expect(usageError(['worker', 'extra', '--queue', 'redis://h']).message).toBe(
      "unexpected argument 'extra' (see --help)",
    );
  });
});
