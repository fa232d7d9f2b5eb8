import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { failedCell } from '../cells/common.js';
import { BenchUsageError } from '../errors.js';
import { hasMachinePath } from '../report/paths.js';
import { renderMarkdown } from '../report.js';
import { okCell, onMachine, syntheticResult } from '../testing/fixtures.js';
import type { AccuracyResult, BenchResult } from '../types.js';
import { mergeResults } from './merge.js';
import { ACROSS_HEADING, renderMergedMarkdown, writeMergedReport } from './render.js';

const LABEL_A = 'host-a: AMD EPYC 7B13, 2 cores; wasm, ort-cpu, pytorch-cpu';
const LABEL_B = 'gpu-1: Intel Xeon Gold 6338, 8 cores; tensorflow-gpu, wasm, ort-cuda, pytorch-cpu';

function accuracy(model: string, tfjs: number, onnx: number, trainSamples: number): AccuracyResult {
  return {
    model,
    status: 'ok',
    budget: { trainSamples, epochs: 1, batch: 64, backend: 'wasm', seconds: 3 },
    testSamples: 10000,
    tfjsAccuracy: tfjs,
    onnxAccuracy: onnx,
    disagreement: 0,
    maxAbsDiff: 1e-6,
    onnxProvider: 'cpu',
  };
}

/** A 2-core CPU machine: wasm ÷ PyTorch 0.500 for training, ort-cpu ÷ wasm 3.600 at batch 1. */
function runA(date = '2026-11-29T21:48:16.443Z', wasmTrain = 6000): BenchResult {
  return onMachine(
    syntheticResult(
      [
        okCell('train', 'lenet5', 'wasm', 64, wasmTrain, 3),
        okCell('train', 'lenet5', 'pytorch-cpu', 64, 12000, 1),
        okCell('infer', 'lenet5', 'wasm', 1, 5000, 2),
        okCell('infer', 'lenet5', 'ort-cpu', 1, 18000, 2),
      ],
      {
        accuracy: [accuracy('lenet5', 0.9612, 0.9611, 6000)],
        // a machine path from that machine, which the merged report must not show
        env: {
          ...syntheticResult([]).env,
          pytorch: 'torch 1.13.0 via /home/alice/venv/bin/python3',
        },
      },
    ),
    { hostname: 'host-a', cpuModel: 'AMD EPYC 7B13', cores: 2, date },
  );
}

/** An 8-core GPU machine: wasm ÷ PyTorch 0.600 for training; ort-cuda instead of ort-cpu. */
function runB(): BenchResult {
  return onMachine(
    syntheticResult(
      [
        okCell('train', 'lenet5', 'wasm', 64, 9000, 4),
        okCell('train', 'lenet5', 'tensorflow-gpu', 64, 40000, 1),
        okCell('train', 'lenet5', 'pytorch-cpu', 64, 15000, 2),
        okCell('infer', 'lenet5', 'ort-cuda', 1, 30000, 5),
        failedCell('infer', 'lenet5', 'ort-cpu', 1, new Error('session crashed')),
      ],
      { accuracy: [accuracy('lenet5', 0.9701, 0.97, 60000)] },
    ),
    { hostname: 'gpu-1', cpuModel: 'Intel Xeon Gold 6338', cores: 8, date: '2026-11-30T10:00:00.000Z' },
  );
}

/** The part of `md` from the line `heading` to the next heading of the same level or higher. */
function section(md: string, heading: string): string {
  const start = md.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`no section '${heading}'`);
  const level = heading.indexOf(' ');
  const next = md.slice(start + heading.length + 2).search(new RegExp(`\\n#{1,${level}} `));
  return next < 0 ? md.slice(start) : md.slice(start, start + heading.length + 2 + next);
}

/** The table that follows `heading` in a run's own report. */
function ownTable(md: string, heading: string): string {
  const s = section(md, heading);
  return s.slice(s.indexOf('\n| ') + 1).split('\n\n')[0];
}

describe('mergeResults / renderMergedMarkdown', () => {
  it('two machines: one section per machine with its own ratios, absolute figures side by side', () => {
    const a = runA();
    const b = runB();
    const merged = mergeResults([a, b], ['a.json', 'b.json']);
    expect(merged.machines).toBe(2);
    expect(merged.runs.map((r) => [r.label, r.source, r.machineNumber, r.repeated])).toEqual([
      [LABEL_A, 'a.json', 1, false],
      [LABEL_B, 'b.json', 2, false],
    ]);
    const md = renderMergedMarkdown(merged);
    expect(md.startsWith('# LeNet benchmark: 2 runs on 2 machines (merged)\n')).toBe(true);

    // Each machine's section: its tables exactly as its own report has them.
    const ownA = renderMarkdown(a);
    const secA = section(md, `## ${LABEL_A}`);
    const secB = section(md, `## ${LABEL_B}`);
    const training =
      '## Training: samples/s (tinybench: mean time of one training step ± 95 % margin of error)';
    const inference =
      '## Inference: samples/s (tinybench: mean time of one `predict` call ± 95 % margin of error)';
    expect(secA).toContain(ownTable(ownA, training));
    expect(secA).toContain(ownTable(ownA, inference));
    expect(secB).toContain(ownTable(renderMarkdown(b), training));
    expect(secA).toContain('| lenet5 | 64 | 6,000 ±3% | 12,000 ±1% | 0.500 |');
    expect(secB).toContain('| lenet5 | 64 | 40,000 ±1% | 9,000 ±4% | 15,000 ±2% | 2.667 | 0.600 |');
    expect(secA).toContain('From a.json.');
    expect(secB).toContain('[1] session crashed');

    // The summary: each run's headline ratios, from its own cells.
    const summary = section(md, '## Summary');
    expect(section(summary, `### ${LABEL_A}`)).toContain(
      '- **Training, wasm ÷ PyTorch CPU (samples/s per step)**: batch 64: 0.500',
    );
    expect(section(summary, `### ${LABEL_A}`)).toContain(
      '- **Inference, ONNX Runtime (ort-cpu) ÷ TensorFlow.js (wasm)**: batch 1: 3.600',
    );
    expect(section(summary, `### ${LABEL_B}`)).toContain(
      '- **Training, tensorflow-gpu ÷ PyTorch CPU (samples/s per step)**: batch 64: 2.667',
    );

    // Across machines: the machine in each column header, the absolute figures, no ratio.
    const across = section(md, ACROSS_HEADING);
    expect(across).toContain(`| task | model | backend | batch | ${LABEL_A} | ${LABEL_B} |`);
    expect(across).toContain('| train | lenet5 | tensorflow-gpu | 64 |  | 40,000 ±1% |');
    expect(across).toContain('| train | lenet5 | wasm | 64 | 6,000 ±3% | 9,000 ±4% |');
    expect(across).toContain('| train | lenet5 | pytorch-cpu | 64 | 12,000 ±1% | 15,000 ±2% |');
    expect(across).toContain('| infer | lenet5 | ort-cpu | 1 | 18,000 ±2% | failed [1] |');
    expect(across).toContain('| infer | lenet5 | ort-cuda | 1 |  | 30,000 ±5% |');
    // latency: p50 = 0.95 × mean, p99 = 1.5 × mean (see testing/fixtures)
    expect(across).toContain(`| model | backend | ${LABEL_A} | ${LABEL_B} |`);
    expect(across).toContain('| lenet5 | ort-cpu | 0.05 / 0.08 |  |');
    expect(across).toContain(
      '| lenet5 | 96.12% / 96.11% (1 × 6,000 images, 10,000 test) | 97.01% / 97.00% (1 × 60,000 images, 10,000 test) |',
    );
    expect(across).toContain('[1] session crashed');
    expect(across).not.toContain('÷');
    expect(section(md, '## Notes')).toContain(
      '- Cross-machine ratios are not computed: figures from different machines are not comparable as ratios',
    );

    // The machines, and no machine path of either.
    const machines = section(md, '## Machines');
    expect(machines).toContain(
      '| 1 | host-a | AMD EPYC 7B13 | 2 | 8.0 GiB | Linux 6.1.0-test | v20.0.0 | wasm, ort-cpu, pytorch-cpu | 2026-11-29T21:48:16.443Z | quick | a.json |',
    );
    expect(hasMachinePath(a.env.pytorch)).toBe(true);
    expect(hasMachinePath(md)).toBe(false);
    expect(md).toContain('PyTorch: torch 1.13.0 via python3');
  });

  it('keeps two runs of one machine apart, labelled by run time, each with its own ratios', () => {
    const later = runA('2026-11-30T08:05:00.000Z', 7200);
    // given newest first: the report orders a machine's runs by start time
    const merged = mergeResults([later, runA()], ['new.json', 'old.json']);
    expect(merged.machines).toBe(1);
    const first = `${LABEL_A}; run 2026-11-29 21:48 UTC`;
    const second = `${LABEL_A}; run 2026-11-30 08:05 UTC`;
    expect(merged.runs.map((r) => [r.label, r.source, r.repeated])).toEqual([
      [first, 'old.json', true],
      [second, 'new.json', true],
    ]);
    const md = renderMergedMarkdown(merged);
    expect(md.startsWith('# LeNet benchmark: 2 runs on 1 machine (merged)\n')).toBe(true);
    expect(section(md, `## ${first}`)).toContain('| lenet5 | 64 | 6,000 ±3% | 12,000 ±1% | 0.500 |');
    expect(section(md, `## ${second}`)).toContain('| lenet5 | 64 | 7,200 ±3% | 12,000 ±1% | 0.600 |');
    const across = section(md, ACROSS_HEADING);
    expect(across).toContain(`| task | model | backend | batch | ${first} | ${second} |`);
    expect(across).toContain('| train | lenet5 | wasm | 64 | 6,000 ±3% | 7,200 ±3% |');
    expect(section(md, '## Notes')).toContain(
      '- host-a (AMD EPYC 7B13) ran 2 times (old.json, new.json): each run is its own section and column',
    );
  });

  it('tells runs started within one minute apart by the second', () => {
    const merged = mergeResults(
      [runA('2026-11-29T21:48:16.443Z'), runA('2026-11-29T21:48:50.000Z')],
      ['a.json', 'b.json'],
    );
    expect(merged.runs.map((r) => r.label)).toEqual([
      `${LABEL_A}; run 2026-11-29 21:48:16 UTC`,
      `${LABEL_A}; run 2026-11-29 21:48:50 UTC`,
    ]);
  });

  it('refuses the same run given twice, naming both sources', () => {
    expect(() => mergeResults([runA(), runA()], ['a.json', 'copy.json'])).toThrow(
      new BenchUsageError(
        'a.json and copy.json are the same run (host-a, started 2026-11-29T21:48:16.443Z): give each run once',
      ),
    );
    expect(() => mergeResults([runA()], [])).toThrow('1 results but 0 sources');
    expect(() => mergeResults([], [])).toThrow('nothing to merge');
  });

  it('names a machine of a file written before the hostname was recorded by its CPU, and says so', () => {
    const old = runB();
    delete old.env.hostname;
    delete old.env.os;
    const merged = mergeResults([runA(), old], ['a.json', 'old.json']);
    expect(merged.runs[1].label).toBe(
      'unknown host: Intel Xeon Gold 6338, 8 cores; tensorflow-gpu, wasm, ort-cuda, pytorch-cpu',
    );
    expect(merged.runs[1].machine.os).toBe('linux x64');
    expect(renderMergedMarkdown(merged)).toContain(
      '- old.json was written before results recorded the hostname and OS',
    );
  });

  it('writes the report as results.md, atomically (no temp file left)', async () => {
    const dir = join(await mkdtemp(join(tmpdir(), 'bench-merge-')), 'out');
    const merged = mergeResults([runA(), runB()], ['a.json', 'b.json']);
    const file = await writeMergedReport(merged, dir);
    expect(file).toBe(join(dir, 'results.md'));
    expect(await readFile(file, 'utf8')).toBe(renderMergedMarkdown(merged));
    expect(await readdir(dir)).toEqual(['results.md']);
  });
});
