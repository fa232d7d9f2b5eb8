import { describe, expect, it } from 'vitest';
import { SpecError } from './errors.js';
import { getPreset } from './presets.js';
import { convPaddingPlan, inferShapes } from './shapes.js';
import type { LayerSpec, ModelSpec } from './spec.js';

const net = (input: [number, number, number], layers: LayerSpec[], classes = 2): ModelSpec => ({
  name: 'net',
  input,
  classes,
  layers,
});
const head: LayerSpec[] = [{ type: 'flatten' }, { type: 'dense', units: 2 }];

describe('inferShapes arithmetic', () => {
  it('conv: same, valid, numeric padding, strides, rectangular kernels, no bias', () => {
    const s = inferShapes(
      net(
        [11, 9, 3],
        [
          { type: 'conv2d', filters: 4, kernel: 3, stride: 2, padding: 'same' },
          { type: 'conv2d', filters: 5, kernel: [3, 1], padding: 'valid', useBias: false },
          { type: 'conv2d', filters: 2, kernel: 3, stride: 2, padding: 1 },
          ...head,
        ],
      ),
    );
    expect(s.layers.map((l) => l.outputShape)).toEqual([[6, 5, 4], [4, 5, 5], [2, 3, 2], [12], [2]]);
    expect(s.layers.map((l) => l.params)).toEqual([
      3 * 3 * 3 * 4 + 4,
      3 * 1 * 4 * 5,
      3 * 3 * 5 * 2 + 2,
      0,
      26,
    ]);
  });

  it('pooling: default stride = size, same padding rounds up, rectangular sizes', () => {
    const s = inferShapes(
      net(
        [7, 7, 2],
        [
          { type: 'maxPool', size: 2 },
          { type: 'avgPool', size: 2, padding: 'same' },
          { type: 'maxPool', size: [2, 1], stride: 1 },
          ...head,
        ],
      ),
    );
    expect(s.layers.map((l) => l.outputShape).slice(0, 3)).toEqual([
      [3, 3, 2],
      [2, 2, 2],
      [1, 2, 2],
    ]);
  });

  it('batchNorm: 4 per channel in Keras (2 non-trainable), 2 in torch; works on vectors', () => {
    const s = inferShapes(
      net(
        [4, 4, 3],
        [
          { type: 'batchNorm' },
          { type: 'globalAvgPool' },
          { type: 'batchNorm' },
          { type: 'dense', units: 2 },
        ],
      ),
    );
    expect(s.layers[0]).toMatchObject({
      params: 12,
      trainableParams: 6,
      nonTrainableParams: 6,
      torchParams: 6,
    });
    expect(s.layers[1].outputShape).toEqual([3]);
    expect(s.layers[2]).toMatchObject({ params: 12, torchParams: 6 });
    expect(s).toMatchObject({
      totalParams: 32,
      trainableParams: 20,
      nonTrainableParams: 12,
      torchParams: 20,
    });
  });
});

describe('inferShapes errors name the layer', () => {
  it('a size reaching 0 in a conv', () => {
    expect(() => inferShapes(net([4, 4, 1], [{ type: 'conv2d', filters: 2, kernel: 5 }, ...head]))).toThrow(
      `spec "net": layers[0] (conv2d): output height 0 <= 0 (input 4x4x1, kernel 5x5, stride 1x1, padding 'valid')`,
    );
  });

  it('a size going negative in a conv with a wide kernel', () => {
    expect(() =>
      inferShapes(net([3, 9, 1], [{ type: 'conv2d', filters: 2, kernel: [7, 3], stride: 2 }, ...head])),
    ).toThrow(/layers\[0\] \(conv2d\): output height -1 <= 0/);
  });

  it('the deeper Keras preset on 8x8 images', () => {
    const spec = { ...getPreset('keras-deep').spec, input: [8, 8, 1] as [number, number, number] };
    const err = (() => {
      try {
        inferShapes(spec);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(SpecError);
    expect((err as SpecError).message).toMatch(
      /^spec "keras-deep": layers\[7\] \(maxPool\): output height 0 <= 0/,
    );
    expect((err as SpecError).layerIndex).toBe(7);
    expect((err as SpecError).layerType).toBe('maxPool');
  });

  it('conv after flatten, dense before flatten', () => {
    expect(() =>
      inferShapes(net([4, 4, 1], [{ type: 'flatten' }, { type: 'conv2d', filters: 2, kernel: 1 }, ...head])),
    ).toThrow(/layers\[1\] \(conv2d\): needs a \[height, width, channels\] input, got \[16\]/);
    expect(() => inferShapes(net([4, 4, 1], [{ type: 'dense', units: 2 }]))).toThrow(
      /layers\[0\] \(dense\): needs a flat \[n\] input, got \[4, 4, 1\]; add a flatten/,
    );
  });

  it('an output that does not match the class count', () => {
    expect(() => inferShapes(net([4, 4, 1], head, 10))).toThrow(
      `spec "net": layers[1] (dense): the model's output is [2] but the spec has 10 classes; end with a dense layer of 10 units`,
    );
  });

  it('unknown types and missing fields (validation runs first)', () => {
    expect(() => inferShapes(net([4, 4, 1], [{ type: 'pool' } as unknown as LayerSpec, ...head]))).toThrow(
      /layers\[0\] \(pool\): field "type": unknown layer type "pool"/,
    );
    expect(() =>
      inferShapes(net([4, 4, 1], [{ type: 'conv2d', filters: 2 } as unknown as LayerSpec, ...head])),
    ).toThrow(/layers\[0\] \(conv2d\): field "kernel": missing/);
  });
});

describe('convPaddingPlan', () => {
  it('maps numeric padding to same, valid, or an explicit zero padding', () => {
    expect(convPaddingPlan({ type: 'conv2d', filters: 1, kernel: 3, padding: 1 })).toEqual({
      padding: 'same',
      zeroPad: 0,
    });
    expect(convPaddingPlan({ type: 'conv2d', filters: 1, kernel: 5, padding: 2 })).toEqual({
      padding: 'same',
      zeroPad: 0,
    });
    expect(convPaddingPlan({ type: 'conv2d', filters: 1, kernel: 3, padding: 0 })).toEqual({
      padding: 'valid',
      zeroPad: 0,
    });
    expect(convPaddingPlan({ type: 'conv2d', filters: 1, kernel: 3, stride: 2, padding: 1 })).toEqual({
      padding: 'valid',
      zeroPad: 1,
    });
    expect(convPaddingPlan({ type: 'conv2d', filters: 1, kernel: 3, padding: 2 })).toEqual({
      padding: 'valid',
      zeroPad: 2,
    });
    expect(convPaddingPlan({ type: 'conv2d', filters: 1, kernel: 3 })).toEqual({
      padding: 'valid',
      zeroPad: 0,
    });
  });
});
