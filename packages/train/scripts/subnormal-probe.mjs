// Does training get slower as the net gets confident? Per-epoch samples/s of `fit` over a fixed
// MNIST subset, and the count of subnormal floats in the weights and the softmax outputs.
//   node packages/train/scripts/subnormal-probe.mjs [preset] [batch] [epochs]
import { useBackend } from '@lenet/backend';
import { head, loadMnist } from '@lenet/datasets';
import { getPreset } from '@lenet/models';
import { buildModel } from '@lenet/models/tf';
import { fit } from '../dist/index.js';
import * as tf from '../dist/tfjs.js';

const [preset = 'lenet5-classic', b = '64', e = '12'] = process.argv.slice(2);
const batchSize = Number(b);
await useBackend('wasm');
const data = head(await loadMnist({ split: 'train' }), batchSize * 50);
const { spec } = getPreset(preset);
const model = buildModel(spec, { seed: 1 });
const isSub = (v) => v !== 0 && Math.abs(v) < 1.1754943508222875e-38;
const countSub = (arr) => {
  let n = 0;
  for (const v of arr) if (isSub(v)) n++;
  return n;
};
const res = await fit(model, data, {
  epochs: Number(e),
  batchSize,
  optimizer: 'adam',
  seed: 1,
  spec,
  callbacks: [
    {
      onEpochEnd: async (epoch) => {
        let w = 0;
        for (const t of model.getWeights()) w += countSub(t.dataSync());
        const x = tf.tensor4d(
          Float32Array.from(data.images.subarray(0, 256 * 784), (v) => v / 255),
          [256, 28, 28, 1],
        );
        const p = model.predict(x);
        const ps = countSub(p.dataSync());
        tf.dispose([x, p]);
        console.log(`epoch ${epoch}: subnormal weights ${w}, subnormal softmax outputs ${ps}/2560`);
      },
    },
  ],
});
for (const [i, h] of res.history.entries())
  console.log(`epoch ${i}: ${h.samplesPerSecond.toFixed(0)} samples/s, loss ${h.loss.toFixed(4)}`);
