import { useBackend } from '@lenet/backend';
import { getPreset } from '@lenet/models';
import { buildModel } from '@lenet/models/tf';
import { beforeAll, describe, expect, it } from 'vitest';
import { toOnnxBytes, toOnnxModel } from './export.js';
import {
  maxAbsDiff,
  nhwcToNchw,
  randomizeWeights,
  rng,
  runOrt,
  tfOutputs,
  uniform,
} from './testing/helpers.js';

beforeAll(async () => {
  await useBackend('wasm');
});

const SAMPLES = 16;

/** Each preset's BatchNormalization count with folding on (default) and off. */
const CASES = [
  // conv → BN → dropout → relu and dense → BN → relu: every BN sits right after its layer.
  { preset: 'torch-2conv3fc', folded: 0, kept: 4 },
  { preset: 'torch-bn', folded: 0, kept: 5 },
  // conv/relu → BN: the ReLU stands between the conv and its BN, so folding would not be exact.
  { preset: 'keras-bn', folded: 3, kept: 3 },
];

describe('BatchNorm folding on the presets', () => {
  for (const { preset, folded, kept } of CASES) {
    it(`${preset}: ${kept - folded} of ${kept} BatchNormalization nodes folded, logits as TensorFlow.js either way`, async () => {
      const { spec } = getPreset(preset);
      const model = buildModel(spec, { seed: 5 });
      try {
        // Random γ, β and moving statistics, so the fold changes the weights for real.
        randomizeWeights(model, 13);
        const bnNodes = (foldBatchNorm: boolean) =>
          toOnnxModel(model, { foldBatchNorm }).model.graph!.node!.filter(
            (n) => n.op_type === 'BatchNormalization',
          ).length;
        expect(bnNodes(true)).toBe(folded);
        expect(toOnnxModel(model).summary.foldedBatchNorms).toBe(kept - folded);
        expect(bnNodes(false)).toBe(kept);

        const [h, w, c] = spec.input;
        const x = uniform(SAMPLES * h * w * c, rng(9));
        const { logits } = tfOutputs(model, x, [SAMPLES, h, w, c]);
        expect(Math.max(...logits.map(Math.abs))).toBeGreaterThan(0.05);
        const nchw = nhwcToNchw(x, [SAMPLES, h, w, c]);
        for (const foldBatchNorm of [true, false]) {
          const bytes = toOnnxBytes(model, { foldBatchNorm, logits: true });
          const got = await runOrt(bytes, nchw, [SAMPLES, c, h, w]);
          expect(maxAbsDiff(got, logits), `fold=${foldBatchNorm}`).toBeLessThan(1e-4);
        }
      } finally {
        model.dispose();
      }
    });
  }
});
