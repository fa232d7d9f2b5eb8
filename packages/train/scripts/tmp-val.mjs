import { useBackend } from '@lenet/backend';
import { batches, head, loadMnist } from '@lenet/datasets';
import { buildModel } from '@lenet/models/tf';
import { modelInference } from '../dist/compiled-inference.js';
import { modelInfo } from '../dist/model-info.js';
import { cellSpec } from './cells.mjs';
await useBackend('wasm');
const mnist = await loadMnist({ split: 'train' });
for (const name of process.argv.slice(2)) {
  const spec = cellSpec(name);
  const model = buildModel(spec, { seed: 1 });
  const info = modelInfo(model);
  const ds = head(mnist, 143);
  const [batch] = [...batches(ds, { batchSize: 256, normalize: 'unit', layout: 'NHWC' })];
  const t = { compile: [], first: [], second: [], dispose: [] };
  for (let r = 0; r < 15; r++) {
    let t0 = performance.now();
    const inf = modelInference(model, info, {});
    t.compile.push(performance.now() - t0);
    t0 = performance.now(); await inf.probabilities(batch); t.first.push(performance.now() - t0);
    t0 = performance.now(); await inf.probabilities(batch); t.second.push(performance.now() - t0);
    t0 = performance.now(); inf.dispose(); t.dispose.push(performance.now() - t0);
  }
  const kept = modelInference(model, info, {});
  const { tf } = await import('@lenet/models/tf').then(async () => ({ tf: await import('@tensorflow/tfjs-core') }));
  t.keptFirst = []; t.keptSecond = [];
  for (let r = 0; r < 15; r++) {
    for (const w of model.trainableWeights) { const v = w.read(); v.assign(tf.add(v, 0)); }
    let t0 = performance.now(); await kept.probabilities(batch); t.keptFirst.push(performance.now() - t0);
    t0 = performance.now(); await kept.probabilities(batch); t.keptSecond.push(performance.now() - t0);
  }
  kept.dispose();
  const rel = modelInference(model, info, {});
  t.relFirst = [];
  for (let r = 0; r < 15; r++) {
    for (const w of model.trainableWeights) { const v = w.read(); v.assign(tf.add(v, 0)); }
    let t0 = performance.now(); await rel.probabilities(batch); t.relFirst.push(performance.now() - t0);
    rel.release();
  }
  rel.dispose();
  const med = (a) => [...a].sort((p, q) => p - q)[a.length >> 1].toFixed(3);
  console.log(name, Object.entries(t).map(([k, v]) => `${k} ${med(v)}`).join(', '), 'ms');
}
