// Where the time of a data-parallel step goes (main thread's view): publish weights, shard 0 on
// the main thread, waiting for the workers, averaging + optimizer. Build first (see step-bench.mjs).
//   node packages/train/scripts/parallel-phases.mjs [preset] [batch] [workers] [steps]
import { useBackend } from '@lenet/backend';
import { batches, head, loadMnist } from '@lenet/datasets';
import { getPreset } from '@lenet/models';
import { buildModel } from '@lenet/models/tf';
import { createTrainStep } from '../dist/index.js';
import { ParallelTrainer } from '../dist/parallel/trainer.js';

const [preset = 'lenet5', batch = '64', workers = '2', steps = '30'] = process.argv.slice(2);
await useBackend('wasm');
const { spec } = getPreset(preset);
const model = buildModel(spec, { seed: 1 });
const data = head(await loadMnist({ split: 'train' }), Number(batch) * Number(steps));
const trainStep = createTrainStep(model, { optimizer: 'adam', seed: 1 });
const trainer = await ParallelTrainer.start({ trainStep, spec, workers: Number(workers) });
console.log(`shards: ${trainer.paths.map((p) => p.kind + (p.reason ? ` (${p.reason})` : '')).join(', ')}`);
for (let rep = 0; rep < 2; rep++) {
  Object.assign(trainer.times, { steps: 0, publish: 0, mainShard: 0, wait: 0, update: 0 });
  const t0 = performance.now();
  let i = 0;
  for (const b of batches(data, {
    batchSize: Number(batch),
    layout: 'NHWC',
    normalize: 'unit',
    shuffle: true,
    seed: 1,
    epoch: rep,
  })) {
    await trainer.step(b, 1e-3, i++);
  }
  const ms = performance.now() - t0;
  const t = trainer.times;
  const per = (x) => (x / t.steps).toFixed(2);
  console.log(
    `${preset} batch ${batch} workers ${workers}: ${(ms / t.steps).toFixed(1)} ms/step (${((Number(batch) * t.steps * 1000) / ms).toFixed(0)} samples/s); publish ${per(t.publish)}, main shard ${per(t.mainShard)}, wait ${per(t.wait)}, update ${per(t.update)}`,
  );
}
await trainer.dispose();
trainStep.dispose();
