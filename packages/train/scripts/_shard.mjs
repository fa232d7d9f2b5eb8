import { useBackend } from '@lenet/backend';
import { loadMnist, batches } from '@lenet/datasets';
import { buildModel, getPreset } from '@lenet/models';
import * as tf from '@tensorflow/tfjs';
import { shardGradients, modelVariables, sizeOf } from '../dist/parallel/shard-step.js';
await useBackend('wasm');
const preset = process.argv[2] ?? 'lenet5-classic';
const model = buildModel(getPreset(preset).spec, { seed: 1 });
const vars = modelVariables(model);
const out = new Float32Array(sizeOf(vars.trainable) + sizeOf(vars.nonTrainable));
const data = await loadMnist({ split: 'test' });
for (const bs of [32, 64, 32, 64]) {
  const bl = [...batches(data, { batchSize: bs, layout: 'NHWC', normalize: 'unit' })].slice(0, 40);
  for (const b of bl.slice(0, 5)) shardGradients(model, vars, b, { classes: 10, fromLogits: false }, out);
  const t0 = performance.now();
  for (const b of bl) shardGradients(model, vars, b, { classes: 10, fromLogits: false }, out);
  console.log(preset, 'batch', bs, ((performance.now() - t0) / bl.length).toFixed(2), 'ms', tf.memory().numTensors);
}
