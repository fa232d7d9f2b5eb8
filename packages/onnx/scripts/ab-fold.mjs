#!/usr/bin/env node
/**
 * onnxruntime-node inference of the exporter's graph with each batch norm folded into the layer
 * before it (`foldBatchNorm: true`, the default) against the same model exported with
 * `foldBatchNorm: false` (BatchNormalization nodes left for onnxruntime's own optimizer),
 * interleaved call by call in one process. OnnxClassifier.predict at its defaults (1 thread,
 * graph optimisation 'all'), as the bench's ort-cpu cell runs it. The table gives the median
 * over rounds of samples/s (from each round's median call time) and of each round's
 * folded ÷ unfolded.
 *
 * Build first (pnpm turbo run build). Usage:
 *   node packages/onnx/scripts/ab-fold.mjs [preset:batch,...] [rounds] [ms per measurement]
 */
import { loadavg } from 'node:os';
import { getPreset } from '@lenet/models';
import { buildModel } from '@lenet/models/tf';
import { OnnxClassifier, toOnnxBytes } from '../dist/index.js';

const cells = (
  (process.argv[2] || undefined) ??
  'torch-2conv3fc:1,torch-2conv3fc:64,torch-2conv3fc:256,torch-bn:1,torch-bn:64,torch-bn:256'
)
  .split(',')
  .map((c) => {
    const [preset, b] = c.split(':');
    return { preset, batch: Number(b) };
  });
const rounds = Number(process.argv[3] ?? 7);
const ms = Number(process.argv[4] ?? 1000);
const VARIANTS = ['folded', 'unfolded'];

const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const sps = new Map();
const push = (k, v) => sps.set(k, [...(sps.get(k) ?? []), v]);
const models = new Map();
for (const preset of new Set(cells.map((c) => c.preset))) {
  const { spec } = getPreset(preset);
  const model = buildModel(spec, { seed: 1 });
  models.set(preset, {
    spec,
    folded: toOnnxBytes(model, { preset, foldBatchNorm: true }),
    unfolded: toOnnxBytes(model, { preset, foldBatchNorm: false }),
  });
  model.dispose();
}
const load = [loadavg()[0]];
const sessions = new Map();
for (const { preset, batch } of cells) {
  const m = models.get(preset);
  for (const v of VARIANTS) {
    const cl = await OnnxClassifier.load(m[v], { executionProviders: ['cpu'], batchSize: batch });
    sessions.set(`${preset}:${batch}:${v}`, cl);
  }
}
// Calls alternate between the two sessions (ABBA…), so a load swing on this shared VM hits both
// alike; each round's figure is the median of its per-call times.
for (let round = 0; round < rounds; round++) {
  for (const { preset, batch } of cells) {
    const m = models.get(preset);
    const [h, w, c] = m.spec.input;
    const x = new Float32Array(batch * h * w * c);
    for (let i = 0; i < x.length; i++) x[i] = ((i * 2654435761) % 1000) / 1000;
    const shape = [batch, c, h, w];
    const times = { folded: [], unfolded: [] };
    const t0 = performance.now();
    for (let i = 0; performance.now() - t0 < ms || i < 20; i++) {
      for (const v of i % 2 ? [...VARIANTS].reverse() : VARIANTS) {
        const cl = sessions.get(`${preset}:${batch}:${v}`);
        const s0 = performance.now();
        await cl.predict(x, shape);
        if (i >= 4) times[v].push(performance.now() - s0);
      }
    }
    for (const v of VARIANTS) push(`${preset}:${batch}:${v}`, (batch * 1000) / median(times[v]));
  }
  load.push(loadavg()[0]);
}
for (const cl of sessions.values()) await cl.dispose();
console.log(`${rounds} rounds × ${ms} ms per cell; load ${load.map((l) => l.toFixed(2)).join(' → ')}\n`);
console.log('| cell | folded samples/s | unfolded samples/s | folded ÷ unfolded (paired) | range |');
console.log('| --- | ---: | ---: | ---: | --- |');
for (const { preset, batch } of cells) {
  const [fs, us] = VARIANTS.map((v) => sps.get(`${preset}:${batch}:${v}`));
  const ratios = fs.map((f, i) => f / us[i]).sort((a, b) => a - b);
  const fmt = (v) => Math.round(v).toLocaleString('en-US');
  console.log(
    `| ${preset} b${batch} | ${fmt(median(fs))} | ${fmt(median(us))} | ${median(ratios).toFixed(3)} | ${ratios[0].toFixed(2)} … ${ratios[ratios.length - 1].toFixed(2)} |`,
  );
}
