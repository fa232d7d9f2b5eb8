// Our compiled training step against PyTorch's, interleaved cell by cell so that load from other
// processes hits both alike: one process here, one PyTorch process (benchmarks/src/pytorch_ref.py
// --serve, as the bench's paired cells use it; Debian's /usr/bin/python3, OPENBLAS_NUM_THREADS=1)
// answering timing requests; each
// round times every arm of a cell in turn (ours on 1 kernel thread and on the default, PyTorch on
// 1 and 2 threads), STEPS steps each. Prints per cell the medians over rounds of each arm's median
// step and the ratios PyTorch ÷ ours (samples/s ours ÷ PyTorch): "1t" one thread each, "best"
// ours on the default threads against PyTorch's faster thread count (the bench's comparison).
// Build first: pnpm exec turbo run build --filter=@lenet/train...
//   node packages/train/scripts/ab-pytorch.mjs [--rounds=N] [preset:batch ...]   (preset may end in -nodropout)
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { setWasmKernelThreads, useBackend, wasmKernelThreads } from '@lenet/backend';
import { batches, head, loadMnist, mnistDataDir } from '@lenet/datasets';
import { buildModel } from '@lenet/models/tf';
import { createTrainStep } from '../dist/index.js';
import { cellSpec, parseCells } from './cells.mjs';

const args = process.argv.slice(2);
const rounds = Number(args.find((a) => a.startsWith('--rounds='))?.slice(9) ?? 5);
const cells = parseCells(args);
const STEPS = 15;
const script = fileURLToPath(new URL('../../../benchmarks/src/pytorch_ref.py', import.meta.url));
const py = spawn('/usr/bin/python3', [script, '--serve', '--mnist', mnistDataDir()], {
  env: { ...process.env, OPENBLAS_NUM_THREADS: '1' },
  stdio: ['pipe', 'pipe', 'inherit'],
});
const replies = createInterface({ input: py.stdout })[Symbol.asyncIterator]();
const warmed = new Set();
const pytorch = async (specPath, batch, threads) => {
  const key = `${specPath} ${batch}`;
  const warmup = warmed.has(key) ? 0 : 30;
  warmed.add(key);
  const request = { spec: specPath, task: 'train', batch, threads, iterations: STEPS, time: 0, warmup };
  py.stdin.write(`${JSON.stringify(request)}\n`);
  const { value, done } = await replies.next();
  if (done) throw new Error('pytorch_ref.py --serve ended');
  const reply = JSON.parse(value);
  if (reply.error) throw new Error(`pytorch_ref.py: ${reply.error}`);
  return median(reply.samples);
};

await useBackend('wasm');
const defaultThreads = wasmKernelThreads();
const mnist = await loadMnist({ split: 'train' });
const median = (t) => [...t].sort((a, b) => a - b)[Math.floor(t.length / 2)];
const dir = mkdtempSync(join(tmpdir(), 'ab-pytorch-'));
console.log(
  `node ${process.version}, ${rounds} rounds of ${STEPS} steps per arm; ours: 1 and ${defaultThreads} kernel threads`,
);
for (const { preset, batch } of cells) {
  const spec = cellSpec(preset);
  const specPath = join(dir, `${preset}.json`);
  writeFileSync(specPath, JSON.stringify(spec));
  const list = [...batches(head(mnist, batch * 4), { batchSize: batch, layout: 'NHWC', normalize: 'unit' })];
  const model = buildModel(spec, { seed: 1 });
  const step = createTrainStep(model, { optimizer: 'adam', seed: 1 });
  let i = 0;
  const ours = async (threads) => {
    await setWasmKernelThreads(threads);
    const times = [];
    for (let s = 0; s < STEPS; s++) {
      const t0 = performance.now();
      step.run(list[i % list.length], 1e-3, i++);
      await step.sums.read();
      times.push(performance.now() - t0);
    }
    return median(times);
  };
  for (let w = 0; w < 4; w++) await ours(w % 2 === 0 ? 1 : defaultThreads);
  const arms = { ours1: [], oursD: [], torch1: [], torch2: [] };
  for (let r = 0; r < rounds; r++) {
    arms.ours1.push(await ours(1));
    arms.torch1.push(await pytorch(specPath, batch, 1));
    arms.oursD.push(await ours(defaultThreads));
    arms.torch2.push(await pytorch(specPath, batch, 2));
  }
  const m = Object.fromEntries(Object.entries(arms).map(([k, v]) => [k, median(v)]));
  const best = Math.min(m.torch1, m.torch2);
  console.log(
    `${preset} b${batch} (${step.path.kind}): ours ${m.ours1.toFixed(2)} ms (1t) ${m.oursD.toFixed(2)} ms (${defaultThreads}t) | PyTorch ${m.torch1.toFixed(2)} ms (1t) ${m.torch2.toFixed(2)} ms (2t) | ratio 1t ${(m.torch1 / m.ours1).toFixed(2)}, best ${(best / Math.min(m.ours1, m.oursD)).toFixed(2)} (default threads ${(best / m.oursD).toFixed(2)})`,
  );
  step.dispose();
  model.dispose();
}
await setWasmKernelThreads(defaultThreads);
py.stdin.end();
