import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { countMarkItems } from '@lenet/metrics';
import { describe, expect, it } from 'vitest';
import { hasMachinePath, withoutMachinePaths } from './report/paths.js';
import { renderMarkdown, renderSummary, SUMMARY_HEADING, writeRunDir } from './report.js';
import { validateResults } from './results-file.js';
import { okCell, syntheticResult } from './testing/fixtures.js';
import { ALL_BACKENDS, type BenchResult, type CellResult } from './types.js';

const STORE =
  '/work/main/node_modules/.pnpm/@tensorflow+tfjs-node@4.22.0_seedrandom@3.0.5_supports-color@7.2.0/node_modules/@tensorflow/tfjs-node';
const NATIVE_MISSING = `native binary missing — @tensorflow/tfjs-node is installed at ${STORE} but its tfjs_binding.node was not built`;

/** A run with every part of the report: main cells, fit cells, accuracy, both extra suites. */
function fullRun(): BenchResult {
  const cells: CellResult[] = [
    okCell('train', 'lenet5', 'wasm', 64, 6000, 3),
    okCell('train', 'lenet5', 'pytorch-cpu', 64, 12000, 1),
    okCell('train', 'torch-bn', 'wasm', 64, 4000, 2),
    okCell('train', 'torch-bn', 'pytorch-cpu', 64, 6400, 1),
    okCell('train', 'lenet5', 'wasm-1w', 64, 5000, 8),
    okCell('train', 'lenet5', 'wasm-2w', 64, 5500, 12),
    okCell('infer', 'lenet5', 'wasm', 1, 5000, 2),
    okCell('infer', 'lenet5', 'wasm', 64, 4231, 7),
    okCell('infer', 'lenet5', 'ort-cpu', 1, 18000, 2),
    okCell('infer', 'lenet5', 'ort-cpu', 64, 13573, 9),
    okCell('infer', 'lenet5', 'pytorch-cpu', 64, 30000, 1),
    {
      id: 'train/lenet5/tensorflow/b64',
      task: 'train',
      model: 'lenet5',
      backend: 'tensorflow',
      batch: 64,
      status: 'skipped',
      reason: `not available: ${NATIVE_MISSING}`,
    },
  ];
  return syntheticResult(cells, {
    env: {
      ...syntheticResult([]).env,
      backends: { tensorflow: `not available: ${NATIVE_MISSING}`, wasm: 'active' },
      pytorch:
        'torch 1.13.0 via /usr/bin/python3, openblas BLAS (/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3)',
      packages: { '@tensorflow/tfjs-core': '4.22.0', '@tensorflow/tfjs-node': 'not installed' },
    },
    reference: { kind: 'measured', note: 'ratios are to PyTorch CPU (torch via /usr/bin/python3)' },
    accuracy: [
      {
        model: 'lenet5',
        status: 'ok',
        budget: { trainSamples: 6000, epochs: 1, batch: 64, backend: 'wasm', seconds: 3 },
        testSamples: 10000,
        tfjsAccuracy: 0.9612,
        onnxAccuracy: 0.9612,
        disagreement: 0,
        maxAbsDiff: 1.2e-6,
        onnxProvider: 'cpu',
      },
    ],
    extras: {
      datasets: {
        status: 'ok',
        machine: 'Test CPU',
        result: [
          {
            task: 'loadMnist({ split: "train" }): 60,000 images + labels',
            meanMs: 55,
            p99Ms: 64,
            samples: 10,
            value: 60000 / 0.055,
            unit: 'images/s',
          },
          {
            task: 'batches MNIST train, batch 64, NHWC, mean/std (938 batches/epoch)',
            meanMs: 200,
            p99Ms: 230,
            samples: 5,
            value: 4690,
            unit: 'batches/s',
          },
        ],
      },
      onnxThreads: {
        status: 'ok',
        machine: 'Test CPU',
        result: {
          preset: 'lenet5',
          machine: 'Test CPU',
          tfjsBackend: 'wasm',
          load: [0.5, 0.6],
          // The suite's own figures for what the inference table already measured (a second
          // measurement of the same thing, as the report used to show): they must not appear.
          rows: [
            {
              runtime: 'tfjs',
              config: 'wasm',
              batch: 64,
              samplesPerSec: 6701,
              rme: 5,
              p50Ms: 9,
              p99Ms: 12,
              iterations: 20,
            },
            {
              runtime: 'onnxruntime',
              config: 'threads=1 spin=off opt=all sequential',
              threads: 1,
              batch: 64,
              samplesPerSec: 23397,
              rme: 4,
              p50Ms: 2.6,
              p99Ms: 4,
              iterations: 20,
            },
            {
              runtime: 'onnxruntime',
              config: 'threads=2 spin=off opt=all sequential',
              threads: 2,
              batch: 64,
              samplesPerSec: 20359,
              rme: 6,
              p50Ms: 3,
              p99Ms: 5,
              iterations: 20,
            },
          ],
          ratios: [],
          defaults: [],
        },
      },
    },
    notes: ['installed under /home/someone/lenet/node_modules/sharp/lib'],
  });
}

/** Every markdown table of `md`: the heading above it, its header cells and its rows. */
function tables(md: string): { heading: string; header: string[]; rows: string[][] }[] {
  const out: { heading: string; header: string[]; rows: string[][] }[] = [];
  const lines = md.split('\n');
  let heading = '';
  const split = (l: string): string[] =>
    l
      .slice(2, -2)
      .split(/(?<!\\)\|/)
      .map((c) => c.trim());
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].startsWith('#')) heading = lines[i];
    if (!(lines[i].startsWith('| ') && lines[i + 1]?.startsWith('| ---'))) continue;
    const header = split(lines[i]);
    const rows: string[][] = [];
    for (i += 2; lines[i]?.startsWith('| '); i++) rows.push(split(lines[i]));
    out.push({ heading, header, rows });
  }
  return out;
}

describe('the benchmark report', () => {
  const md = renderMarkdown(fullRun());

  it('leads with the summary: one line per question, before any table', () => {
    const headings = md.split('\n').filter((l) => l.startsWith('#'));
    expect(headings[0]).toBe('# LeNet benchmark (quick profile)');
    expect(headings[1]).toBe(SUMMARY_HEADING);
    const summary = md.slice(
      md.indexOf(SUMMARY_HEADING),
      md.indexOf('\n## ', md.indexOf(SUMMARY_HEADING) + 1),
    );
    expect(summary).not.toContain('| ');
    const questions = summary.split('\n').filter((l) => l.startsWith('- **'));
    expect(questions).toEqual([
      '- **Training, wasm ÷ PyTorch CPU (samples/s per step)**: batch 64: median 0.563 (0.500–0.625, 2 variants)',
      '- **Training through fit, wasm-1w ÷ PyTorch CPU (fit epochs with validation vs PyTorch steps)**: batch 64: 0.417',
      '- **Data-parallel training, wasm-2w ÷ wasm-1w (fit epochs, 2 workers vs 1)**: batch 64: 1.100',
      '- **Inference, ONNX Runtime (ort-cpu) ÷ TensorFlow.js (wasm)**: batch 1: 3.600; batch 64: 3.208',
      "- **Inference, wasm ÷ PyTorch CPU (predict's pass)**: batch 64: 0.141",
      '- **Inference, ort-cpu ÷ PyTorch CPU**: batch 64: 0.452',
      '- **ONNX export against TensorFlow.js**: the same predicted class on every test image for lenet5; probabilities within 1.2e-6',
      '- **Test accuracy after 1 epoch on 6,000 images**: 96.12% (lenet5)',
      '- **onnxruntime, 2 intra-op threads ÷ 1 (lenet5)**: batch 64: 1.500',
      '- **Data loading**: loadMnist({ split: "train" }): 60,000 images + labels at 1,090,909 images/s; batching at 4,690 batches/s (MNIST train, batch 64, NHWC, mean/std (938 batches/epoch))',
      '- **Tensor leaks**: none (0 tensors left per step in all 6 training cells)',
    ]);
    // then the main tables, then the details
    const at = (h: string): number => md.indexOf(h);
    expect(at('## Training: samples/s')).toBeGreaterThan(at(SUMMARY_HEADING));
    expect(at('## Inference: samples/s')).toBeLessThan(at('## Details'));
    for (const detail of ['### Environment', '### Memory per cell', '### Data loading', '### onnxruntime']) {
      expect(at(detail)).toBeGreaterThan(at('## Details'));
    }
  });

  it('has no absolute machine path; package-store paths become name@version', () => {
    expect(hasMachinePath(fullRun().env.pytorch)).toBe(true);
    expect(hasMachinePath(md)).toBe(false);
    expect(md).not.toContain('/node_modules/');
    expect(md).toContain('@tensorflow/tfjs-node is installed at @tensorflow/tfjs-node@4.22.0 but');
    expect(md).toContain('torch 1.13.0 via python3, openblas BLAS (libblas.so.3)');
    expect(md).toContain('- packages: @tensorflow/tfjs-core@4.22.0, @tensorflow/tfjs-node (not installed)');
    expect(md).toContain('installed under sharp/lib');
  });

  it('shows each measurement with one number: the threads table repeats the inference cell, the suite’s duplicates are gone', () => {
    expect(md).toContain('13,573 ±9%');
    expect(md).toContain('4,231 ±7%');
    for (const second of ['23,397', '6,701']) expect(md).not.toContain(second);
    expect(md).toContain('| lenet5 | 64 | 13,573 ±9% | 20,359 ±6% | 1.500 |');
    // Across all tables: a (model, batch, column) names one figure only.
    const seen = new Map<string, string>();
    for (const t of tables(md)) {
      const m = t.header.indexOf('model');
      const b = t.header.indexOf('batch');
      if (m < 0 || b < 0) continue;
      t.header.forEach((col, j) => {
        if (!(ALL_BACKENDS as readonly string[]).includes(col)) return;
        for (const row of t.rows) {
          if (row[j] === '') continue;
          const task = /Inference|threads/.test(t.heading) ? 'infer' : 'train';
          const key = `${task}/${row[m]}/${row[b]}/${col}`;
          expect(seen.get(key) ?? row[j], key).toBe(row[j]);
          seen.set(key, row[j]);
        }
      });
    }
    expect(seen.get('infer/lenet5/64/ort-cpu')).toBe('13,573 ±9%');
    expect(seen.get('infer/lenet5/64/wasm')).toBe('4,231 ±7%');
  });

  it('puts an ort-cpu cell that kept 2 threads in the 2-thread column, and the suite’s 1-thread run in the other', () => {
    const run = fullRun();
    const cell = run.cells.find((c) => c.id === 'infer/lenet5/ort-cpu/b64')!;
    cell.threads = 2;
    expect(validateResults(JSON.parse(JSON.stringify(run)), 'results.json').cells).toContainEqual(cell);
    const text = renderMarkdown(run);
    expect(text).toContain('| lenet5 | 64 | 23,397 ±4% | 13,573 ±9% | 0.580 |');
    expect(text).not.toContain('20,359');
  });

  it('labels how every table of figures was measured, and the data-loading throughput is a rate', () => {
    for (const t of tables(md)) {
      const figures = t.rows.some((r) => r.some((c) => /^[\d,.]+( ±\d+%)?$/.test(c)));
      if (!figures || t.heading.includes('Variants') || t.heading.includes('questions')) continue;
      const method = /mean|p50|p99|epochs|MiB|accuracy/;
      expect(method.test(t.heading) || t.header.some((h) => method.test(h)), t.heading).toBe(true);
    }
    const loading = tables(md).find((t) => t.heading.startsWith('### Data loading'))!;
    expect(loading.header).toEqual([
      'task',
      'mean ms per run',
      'p99 ms per run',
      'runs',
      'throughput (from the mean)',
    ]);
    for (const row of loading.rows) expect(row[4]).toMatch(/^[\d,]+ \w+\/s$/);
  });

  it('is a results file that --compare and --merge read back (extras included)', () => {
    const r = fullRun();
    expect(validateResults(JSON.parse(JSON.stringify(r)), 'full.json')).toEqual(r);
  });

  it('prints the summary alone for stdout, without the tables', () => {
    const s = renderSummary(fullRun());
    expect(s.startsWith('# LeNet benchmark (quick profile)')).toBe(true);
    expect(s).toContain(SUMMARY_HEADING);
    expect(s).not.toContain('| ');
    expect(md.startsWith(s)).toBe(true);
  });

  it('writes charts with error bars of the cells’ margins, and links them', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bench-report-'));
    const written = await writeRunDir(fullRun(), dir);
    expect(written).toContain('![infer-b64.svg](charts/infer-b64.svg)');
    expect(written).toContain("Error bars: tinybench's 95 % relative margin of error");
    const svg = await readFile(join(dir, 'charts', 'infer-b64.svg'), 'utf8');
    // wasm, ort-cpu and pytorch-cpu at batch 64: one bar and one whisker each
    expect(countMarkItems(svg, 'bars_marks')).toBe(3);
    expect(countMarkItems(svg, 'errors_layer_2_marks')).toBe(3);
    // bar labels are the tables' figures, not rounded to 4 significant digits
    expect(svg).toContain('>13,573</text>');
    const train = await readFile(join(dir, 'charts', 'train-b64.svg'), 'utf8');
    // the fit-measured columns are not mixed into the per-step chart
    expect(countMarkItems(train, 'bars_marks')).toBe(4);
  });
});

describe('withoutMachinePaths', () => {
  it('rewrites store, node_modules, repository and other absolute paths, and leaves the rest', () => {
    expect(withoutMachinePaths(`at ${STORE}/lib/napi-v8/x.node.`)).toBe(
      'at @tensorflow/tfjs-node@4.22.0/lib/napi-v8/x.node.',
    );
    expect(withoutMachinePaths('in /srv/app/node_modules/onnxruntime-node/bin (x)')).toBe(
      'in onnxruntime-node/bin (x)',
    );
    expect(withoutMachinePaths('see /repo/runs/bench-1/results.md', '/repo')).toBe(
      'see runs/bench-1/results.md',
    );
    expect(withoutMachinePaths('python `/usr/bin/python3`')).toBe('python `python3`');
    const keep = 'samples/s, MB/s, 1 / 5 / 15 min, 1/5/15, charts/a.svg, https://onnxruntime.ai/docs/x';
    expect(withoutMachinePaths(keep)).toBe(keep);
  });
});
