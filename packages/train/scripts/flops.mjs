// Multiply-accumulates per sample of a preset's conv and dense layers (from the built Keras model's
// layer shapes), forward FLOPs (2 per MAC) and training FLOPs (≈ 3× forward: forward, input
// gradient, weight gradient). Build first (see step-bench.mjs).
//   node packages/train/scripts/flops.mjs [preset ...]
import { getPreset } from '@lenet/models';
import { buildModel } from '@lenet/models/tf';

const names =
  process.argv.slice(2).length > 0
    ? process.argv.slice(2)
    : ['lenet5', 'lenet5-classic', 'torch-bn', 'keras-baseline'];
for (const name of names) {
  const model = buildModel(getPreset(name).spec, { seed: 0 });
  let macs = 0;
  const rows = [];
  for (const layer of model.layers) {
    const cls = layer.getClassName();
    const out = layer.outputShape;
    if (cls === 'Conv2D') {
      const [kh, kw, ci, co] = layer.getWeights()[0].shape;
      const m = out[1] * out[2] * co * kh * kw * ci;
      macs += m;
      rows.push(`${layer.name} ${m}`);
    } else if (cls === 'Dense') {
      const [i, o] = layer.getWeights()[0].shape;
      macs += i * o;
      rows.push(`${layer.name} ${i * o}`);
    }
  }
  console.log(
    `${name}: ${macs.toLocaleString('en')} MACs/sample; forward ${((2 * macs) / 1e6).toFixed(3)} MFLOP, training ≈ ${((6 * macs) / 1e6).toFixed(2)} MFLOP/sample, params ${model.countParams()} (${rows.join(', ')})`,
  );
  model.dispose();
}
