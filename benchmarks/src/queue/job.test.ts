import { describe, expect, it } from 'vitest';
import { planFromLists } from '../args.js';
import { BenchUsageError } from '../errors.js';
import { ALL_BACKENDS } from '../types.js';
import {
  BENCH_JOB_TYPE,
  type BenchJob,
  benchJobId,
  benchQueueName,
  parseBenchJob,
  planOf,
  splitPlan,
} from './job.js';

const plan = (flags: Parameters<typeof planFromLists>[0]) => planFromLists(flags);

function rejection(payload: unknown): string {
  try {
    parseBenchJob(payload);
  } catch (e) {
    expect(e).toBeInstanceOf(BenchUsageError);
    return (e as Error).message;
  }
  throw new Error(`accepted ${JSON.stringify(payload)}`);
}

describe('splitPlan', () => {
  it('makes one job per backend, in table order, with the machine-wide tasks on wasm and ort-cpu', () => {
    const jobs = splitPlan(
      plan({ models: ['lenet5'], backends: ['pytorch-cpu', 'ort-cpu', 'wasm', 'tensorflow-gpu', 'wasm-2w'] }),
      'r1',
    );
    expect(jobs.map((j) => [j.backend, j.plan.tasks])).toEqual([
      ['tensorflow-gpu', ['train', 'infer']],
      ['wasm', ['train', 'infer', 'accuracy', 'datasets']],
      ['wasm-2w', ['train']],
      ['ort-cpu', ['infer', 'onnx-threads']],
      ['pytorch-cpu', ['train', 'infer']],
    ]);
    for (const j of jobs) {
      expect(j.plan.backends).toEqual([j.backend]);
      expect(j.plan.models).toEqual(['lenet5']);
      expect(j.plan.profile).toBe('quick');
      expect(j.plan.batchSizes).toBeUndefined();
      expect(j.runId).toBe('r1');
      expect(j.type).toBe(BENCH_JOB_TYPE);
    }
  });

  it('puts accuracy on the first TensorFlow.js backend without wasm, drops backends with nothing to do', () => {
    const jobs = splitPlan(
      plan({ backends: ['ort-cpu', 'cpu', 'tensorflow'], tasks: ['train', 'accuracy'], batchSizes: ['64'] }),
      'r2',
    );
    expect(jobs.map((j) => [j.backend, j.plan.tasks, j.plan.batchSizes])).toEqual([
      ['tensorflow', ['train', 'accuracy'], [64]],
      ['cpu', ['train'], [64]],
    ]);
  });

  it('gives each job a deterministic id of its run and content, and every backend its own queue', () => {
    const p = plan({ models: ['lenet5'], backends: ['wasm', 'cpu'], tasks: ['infer'], batchSizes: ['64'] });
    const [a, b] = splitPlan(p, 'run-x');
    expect(benchJobId(a)).toBe(benchJobId(splitPlan(p, 'run-x')[0]));
    expect(benchJobId(a)).toMatch(/^bench-[0-9a-f]{32}$/);
    expect(benchJobId(a)).not.toBe(benchJobId(b));
    expect(benchJobId(a)).not.toBe(benchJobId(splitPlan(p, 'run-y')[0]));
    expect(benchJobId({ ...a, plan: { ...a.plan, batchSizes: [1] } })).not.toBe(benchJobId(a));
    const names = ALL_BACKENDS.map(benchQueueName);
    expect(new Set(names).size).toBe(ALL_BACKENDS.length);
    expect(names.every((n) => /^lenet-bench-[a-z0-9-]+$/.test(n))).toBe(true);
  });
});

describe('parseBenchJob', () => {
  const [valid] = splitPlan(
    plan({ models: ['lenet5'], backends: ['wasm'], tasks: ['infer'], batchSizes: ['64'] }),
    'r1',
  ) as [BenchJob];

  it('accepts a job the coordinator made, as an object or as JSON text, and plans it as the CLI would', () => {
    expect(parseBenchJob(valid)).toEqual(valid);
    expect(parseBenchJob(JSON.stringify(valid))).toEqual(valid);
    const p = planOf(valid);
    expect(p.profile.name).toBe('quick');
    expect(p).toMatchObject({ models: ['lenet5'], backends: ['wasm'], batchSizes: [64], tasks: ['infer'] });
  });

  it.each([
    ['not json {', /^invalid bench job: not JSON \(/],
    [42, /expected an object, got 42$/],
    [null, /expected an object, got null$/],
    [
      { ...valid, type: 'lenet.study.train' },
      /unknown job type "lenet\.study\.train"; this worker runs 'lenet\.bench\.cells' only/,
    ],
    [{ ...valid, version: 2 }, /job format version 2; this worker reads version 1/],
    [{ ...valid, extra: true }, /unknown field 'extra' \(known: type, version, runId, backend, plan\)/],
    [{ ...valid, runId: 'a b' }, /runId must be 1 to 64 letters/],
    [{ ...valid, backend: 'webgpu' }, /unknown backend "webgpu"/],
    [{ ...valid, plan: [] }, /plan must be an object, got \[\]/],
    [{ ...valid, plan: { ...valid.plan, shell: 'rm -rf /' } }, /plan: unknown field 'shell'/],
    [
      { ...valid, plan: { ...valid.plan, models: ['lenet7'] } },
      /plan\.models: unknown model 'lenet7' \(known: /,
    ],
    [
      { ...valid, plan: { ...valid.plan, models: 'lenet5' } },
      /plan\.models must be a list of names, got "lenet5"/,
    ],
    [
      { ...valid, plan: { ...valid.plan, models: ['lenet5', 'lenet5'] } },
      /plan\.models: 'lenet5' is given twice/,
    ],
    [{ ...valid, plan: { ...valid.plan, tasks: ['mine'] } }, /plan\.tasks: unknown task 'mine'/],
    [
      { ...valid, plan: { ...valid.plan, profile: 'huge' } },
      /plan\.profile: unknown profile 'huge' \(known: quick, full\)/,
    ],
    [
      { ...valid, plan: { ...valid.plan, batchSizes: [0] } },
      /plan\.batchSizes: '0' is not a batch size \(an integer from 1 to 4096\)/,
    ],
    [
      { ...valid, plan: { ...valid.plan, batchSizes: [64.5] } },
      /plan\.batchSizes: '64\.5' is not a batch size/,
    ],
    [{ ...valid, plan: { ...valid.plan, batchSizes: ['64'] } }, /plan\.batchSizes must be a list of numbers/],
    [
      { ...valid, plan: { ...valid.plan, backends: ['wasm', 'cpu'] } },
      /plan\.backends must be exactly the job's backend \['wasm'\], got \["wasm","cpu"\]/,
    ],
    [`"${'x'.repeat(70_000)}"`, /payload of 70002 bytes is over 65536/],
  ])('refuses %j', (payload, message) => {
    expect(rejection(payload)).toMatch(message);
  });
});
