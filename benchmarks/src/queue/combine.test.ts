import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { planFromLists } from '../args.js';
import { readResults } from '../results-file.js';
import { okCell, onMachine, syntheticResult } from '../testing/fixtures.js';
import type { BenchBackend, BenchResult, CellResult } from '../types.js';
import { combineByMachine } from './combine.js';
import type { BenchJobOutcome } from './coordinator.js';
import { splitPlan } from './job.js';
import { writeQueueReport } from './report.js';

const GPU = { hostname: 'gpu-box', cpuModel: 'Xeon', cores: 16 };
const CPU = { hostname: 'cpu-box', cpuModel: 'EPYC', cores: 2 };

/** One job's result: `cells` of `backend`, measured on `machine` at minute `minute`. */
function part(
  backend: BenchBackend,
  cells: CellResult[],
  machine: typeof GPU,
  minute: number,
  extra: Partial<BenchResult> = {},
): BenchResult {
  const r = syntheticResult(cells, {
    notes: ["profile 'quick': …", `${backend} note`],
    durationSec: 10,
    ...extra,
  });
  return onMachine(
    {
      ...r,
      options: { ...r.options, backends: [backend] },
      env: { ...r.env, backends: { [backend]: `${backend} active` } },
    },
    { ...machine, date: `2026-12-01T09:${String(minute).padStart(2, '0')}:00.000Z` },
  );
}

const PYTORCH_MEASURED: BenchResult['reference'] = { kind: 'measured', note: 'ratios are to PyTorch CPU' };

describe('combineByMachine', () => {
  it('makes one results file per machine of the jobs it ran, ratios within it only', () => {
    const parts = [
      part('tensorflow-gpu', [okCell('train', 'lenet5', 'tensorflow-gpu', 64, 9000)], GPU, 5),
      part('wasm', [okCell('train', 'lenet5', 'wasm', 64, 1000)], CPU, 1),
      part('pytorch-cpu', [okCell('train', 'lenet5', 'pytorch-cpu', 64, 2000)], CPU, 3, {
        reference: PYTORCH_MEASURED,
      }),
      part('ort-cuda', [okCell('infer', 'lenet5', 'ort-cuda', 64, 50000)], GPU, 2),
    ];
    const planBackends: BenchBackend[] = ['tensorflow-gpu', 'wasm', 'ort-cuda', 'pytorch-cpu'];
    const [gpu, cpu] = combineByMachine(parts, planBackends);
    expect(gpu.env.hostname).toBe('gpu-box');
    // Table order, whatever order the jobs finished in.
    expect(gpu.options.backends).toEqual(['tensorflow-gpu', 'ort-cuda']);
    expect(gpu.cells.map((c) => c.id)).toEqual([
      'train/lenet5/tensorflow-gpu/b64',
      'infer/lenet5/ort-cuda/b64',
    ]);
    expect(gpu.env.date).toBe('2026-12-01T09:02:00.000Z');
    expect(gpu.env.backends).toEqual({
      'tensorflow-gpu': 'tensorflow-gpu active',
      'ort-cuda': 'ort-cuda active',
    });
    expect(gpu.reference.kind).toBe('none');
    expect(gpu.reference.note).toMatch(/^pytorch-cpu ran on another machine/);
    expect(gpu.notes).toEqual(["profile 'quick': …", 'ort-cuda note', 'tensorflow-gpu note']);
    expect(gpu.durationSec).toBe(20);

    expect(cpu.env.hostname).toBe('cpu-box');
    expect(cpu.options.backends).toEqual(['wasm', 'pytorch-cpu']);
    expect(cpu.cells.map((c) => c.id)).toEqual(['train/lenet5/wasm/b64', 'train/lenet5/pytorch-cpu/b64']);
    expect(cpu.reference).toEqual(PYTORCH_MEASURED);
  });

  it('writes each machine a results file --compare reads, and one merged report with the notes', async () => {
    const plan = planFromLists({
      models: ['lenet5'],
      backends: ['wasm', 'cpu', 'ort-cuda'],
      tasks: ['train', 'infer'],
    });
    const [wasm, cpu, cuda] = splitPlan(plan, 'r-7');
    const done = (job: typeof wasm, result: BenchResult, worker: string, at: number): BenchJobOutcome => ({
      job,
      id: `id-${job.backend}`,
      status: 'done',
      result,
      worker,
      seconds: 4,
      startedAt: at,
      finishedAt: at + 4000,
      earlier: false,
    });
    const outcomes: BenchJobOutcome[] = [
      done(wasm, part('wasm', [okCell('train', 'lenet5', 'wasm', 64, 1000)], CPU, 1), 'cpu-1', 0),
      done(cpu, part('cpu', [okCell('train', 'lenet5', 'cpu', 64, 100)], CPU, 2), 'cpu-2', 2000),
      { job: cuda, id: 'id-ort-cuda', status: 'no-worker', waitedSeconds: 600 },
    ];
    const dir = await mkdtemp(join(tmpdir(), 'bench-queue-report-'));
    const report = await writeQueueReport(outcomes, plan, 'r-7', dir);
    expect(report?.machines.map((m) => m.file)).toEqual([join(dir, 'cpu-box.json')]);
    const back = await readResults(join(dir, 'cpu-box.json'));
    expect(back.cells.map((c) => c.id)).toEqual(['train/lenet5/wasm/b64', 'train/lenet5/cpu/b64']);
    const md = await readFile(join(dir, 'results.md'), 'utf8');
    expect(md).toContain('Merged by `pnpm bench --queue` (run r-7) from cpu-box.json.');
    expect(md).toContain('| train | lenet5 | wasm | 64 | 1,000 ±2% |');
    expect(md).toContain('- wasm: job id-wasm ran on worker cpu-1 (cpu-box) in 4 s.');
    expect(md).toContain(
      '- no worker for backend ort-cuda: no worker took its job within 600 s, so the job was withdrawn',
    );
    expect(md).toContain('run this command again with `--run-id r-7`');
    // Two workers on one machine at once: said, since their figures shared the CPU.
    expect(md).toContain('- wasm and cpu ran at the same time on cpu-box (workers cpu-1 and cpu-2)');
    expect(await writeQueueReport(outcomes.slice(2), plan, 'r-7', join(dir, 'none'))).toBeUndefined();
    await rm(dir, { recursive: true, force: true });
  });
});
