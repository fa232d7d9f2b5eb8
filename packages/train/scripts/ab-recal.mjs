// Interleaved A/B of `recalibrateBatchNorm` alone: the compiled training net's forward passes
// against `model.apply` (`compiled: false`, as LENET_COMPILED_RECALIBRATION=0), per preset, on
// the same model and batches. Medians of the rounds, in ms per recalibration.
// Build first:  pnpm exec turbo run build --filter=@lenet/train...
//   node packages/train/scripts/ab-recal.mjs [--models torch-bn,torch-2conv3fc] [--batches 5]
//     [--batch 256] [--rounds 7]
import { loadavg } from 'node:os';
import { useBackend } from '@lenet/backend';
import { head, loadMnist } from '@lenet/datasets';
import { getPreset } from '@lenet/models';
import { buildModel } from '@lenet/models/tf';
import { recalibrateBatchNorm } from '../dist/index.js';

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const models = opt('models', 'torch-bn').split(',');
const nBatches = Number(opt('batches', '5'));
const batchSize = Number(opt('batch', '256'));
const rounds = Number(opt('rounds', '7'));
await useBackend('wasm');
const train = head(await loadMnist({ split: 'train' }), nBatches * batchSize);
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`load before: ${load()}`);
for (const name of models) {
  const model = buildModel(getPreset(name).spec, { seed: 1 });
  const times = { compiled: [], tfjs: [] };
  const once = (compiled) => {
    const t0 = performance.now();
    recalibrateBatchNorm(model, train, { batches: nBatches, batchSize, compiled });
    return performance.now() - t0;
  };
  once(true);
  once(false);
  for (let r = 0; r < rounds; r++) {
    // Alternate which goes first, so drift on a shared machine hits both alike.
    const order = r % 2 === 0 ? [true, false] : [false, true];
    for (const c of order) times[c ? 'compiled' : 'tfjs'].push(once(c));
  }
  const c = median(times.compiled);
  const t = median(times.tfjs);
  console.log(
    `${name} b${batchSize} x${nBatches}: tfjs ${t.toFixed(1)} ms, compiled ${c.toFixed(1)} ms (${(t / c).toFixed(2)}x)`,
  );
  model.dispose();
}
console.log(`load after: ${load()}`);
