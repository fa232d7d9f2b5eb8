import { useBackend } from '@lenet/backend';
import { getPreset, presetNames } from '@lenet/models';
import { buildModel } from '@lenet/models/tf';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkOnnxModel } from './check.js';
import { toOnnxBytes } from './export.js';
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
  // The wasm backend runs the TensorFlow.js side ~15x faster than cpu (VGG: 1.4 s instead of 22 s).
  await useBackend('wasm');
});

/** Smaller inputs where the published one would make the test slow (noted in docs/onnx.md). */
const INPUT_OVERRIDES: Record<string, [number, number, number]> = { 'folder-lenet50': [64, 64, 3] };
const SAMPLES = 64;

describe('preset parity: onnxruntime vs TensorFlow.js', () => {
  it('covers every preset', () => {
    expect(presetNames().length).toBeGreaterThanOrEqual(10);
  });

  for (const name of presetNames()) {
    it(`${name}: logits within 1e-4 for NCHW/NHWC, folded/unfolded; probabilities too`, async () => {
      const { spec } = getPreset(name, INPUT_OVERRIDES[name] ? { input: INPUT_OVERRIDES[name] } : {});
      const model = buildModel(spec, { seed: 7 });
      try {
        randomizeWeights(model, 11);
        const [h, w, c] = spec.input;
        const nhwc = [SAMPLES, h, w, c];
        const x = uniform(SAMPLES * h * w * c, rng(3));
        const nchw = nhwcToNchw(x, nhwc);
        const { logits, probabilities: probs } = tfOutputs(model, x, nhwc);
        // The logits must not be trivially small, or a 1e-4 tolerance would prove nothing.
        expect(Math.max(...logits.map(Math.abs))).toBeGreaterThan(0.05);
        for (const inputLayout of ['NCHW', 'NHWC'] as const) {
          const feed = inputLayout === 'NCHW' ? nchw : x;
          const shape = inputLayout === 'NCHW' ? [SAMPLES, c, h, w] : nhwc;
          for (const foldBatchNorm of [false, true]) {
            const bytes = toOnnxBytes(model, { inputLayout, foldBatchNorm, logits: true });
            expect(checkOnnxModel(bytes).errors).toEqual([]);
            const got = await runOrt(bytes, feed, shape);
            expect(maxAbsDiff(got, logits), `${inputLayout} fold=${foldBatchNorm}`).toBeLessThan(1e-4);
          }
        }
        const p = await runOrt(toOnnxBytes(model), nchw, [SAMPLES, c, h, w]);
        expect(maxAbsDiff(p, probs)).toBeLessThan(1e-4);
      } finally {
        model.dispose();
      }
    });
  }
});
