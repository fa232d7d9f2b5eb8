import { describe, expect, it } from 'vitest';
import { SpecError } from './errors.js';
import { getPreset, type PresetName, presetNames, presets } from './presets.js';
import { inferShapes } from './shapes.js';

/** `x` repeated `n` times. */
const rep = (x: string, n: number): string[] => Array<string>(n).fill(x);

const shapesOf = (name: string): string[] =>
  inferShapes(getPreset(name).spec).layers.map((l) => l.outputShape.join('x'));

interface Expected {
  shapes: string[];
  total: number;
  trainable: number;
  nonTrainable: number;
  torch: number;
  /** Keras-style params of every layer, where a report lists them. */
  layerParams?: number[];
}

const expected: Record<PresetName, Expected> = {
  lenet5: {
    shapes: ['28x28x6', '14x14x6', '10x10x16', '5x5x16', '400', '120', '84', '10'],
    total: 61706,
    trainable: 61706,
    nonTrainable: 0,
    torch: 61706,
    layerParams: [156, 0, 2416, 0, 0, 48120, 10164, 850],
  },
  'lenet5-classic': {
    shapes: ['28x28x6', '14x14x6', '10x10x16', '5x5x16', '400', '120', '84', '10'],
    total: 61706,
    trainable: 61706,
    nonTrainable: 0,
    torch: 61706,
  },
  'torch-bn': {
    shapes: [
      ...rep('28x28x6', 4),
      '14x14x6',
      ...rep('12x12x12', 4),
      '6x6x12',
      ...rep('4x4x24', 4),
      '384',
      ...rep('128', 3),
      ...rep('48', 3),
      '10',
    ],
    total: 60170,
    trainable: 59734,
    nonTrainable: 436,
    torch: 59734,
  },
  'torch-nobn': {
    shapes: [
      ...rep('28x28x6', 3),
      '14x14x6',
      ...rep('12x12x12', 3),
      '6x6x12',
      ...rep('4x4x24', 3),
      '384',
      ...rep('128', 2),
      ...rep('48', 2),
      '10',
    ],
    total: 59298,
    trainable: 59298,
    nonTrainable: 0,
    torch: 59298,
  },
  'torch-2conv3fc': {
    shapes: [
      ...rep('28x28x6', 4),
      '14x14x6',
      ...rep('12x12x12', 4),
      '6x6x12',
      '432',
      ...rep('128', 3),
      ...rep('48', 3),
      '10',
    ],
    total: 63214 + 2 * (6 + 12 + 128 + 48),
    trainable: 63214,
    nonTrainable: 388,
    torch: 63214,
  },
  'torch-2conv2fc': {
    shapes: [...rep('28x28x6', 4), '14x14x6', ...rep('12x12x12', 4), '6x6x12', '432', ...rep('128', 3), '10'],
    total: 57726 + 2 * (6 + 12 + 128),
    trainable: 57726,
    nonTrainable: 292,
    torch: 57726,
  },
  'keras-baseline': {
    shapes: ['28x28x32', '14x14x32', '14x14x64', '7x7x64', '7x7x64', '3x3x64', '576', '64', '64', '10'],
    total: 97482,
    trainable: 97482,
    nonTrainable: 0,
    torch: 97482,
    layerParams: [320, 0, 18496, 0, 36928, 0, 0, 36928, 4160, 650],
  },
  'keras-bn': {
    shapes: [
      '28x28x32',
      '28x28x32',
      '14x14x32',
      '14x14x64',
      '14x14x64',
      '7x7x64',
      '7x7x64',
      '7x7x64',
      '3x3x64',
      '576',
      '64',
      '64',
      '10',
    ],
    total: 98122,
    trainable: 97802,
    nonTrainable: 320,
    torch: 97802,
    layerParams: [320, 128, 0, 18496, 256, 0, 36928, 256, 0, 0, 36928, 4160, 650],
  },
  'keras-shallow': {
    shapes: ['28x28x32', '14x14x32', '14x14x64', '7x7x64', '3136', '64', '64', '10'],
    total: 224394,
    trainable: 224394,
    nonTrainable: 0,
    torch: 224394,
    layerParams: [320, 0, 18496, 0, 0, 200768, 4160, 650],
  },
  'keras-deep': {
    shapes: [
      '28x28x32',
      '14x14x32',
      '14x14x64',
      '7x7x64',
      '7x7x64',
      '3x3x64',
      '3x3x64',
      '1x1x64',
      '64',
      '64',
      '64',
      '10',
    ],
    total: 101642,
    trainable: 101642,
    nonTrainable: 0,
    torch: 101642,
    layerParams: [320, 0, 18496, 0, 36928, 0, 36928, 0, 0, 4160, 4160, 650],
  },
  'vgg-cifar10': {
    shapes: [
      ...rep('32x32x32', 3),
      '16x16x32',
      ...rep('16x16x64', 3),
      '8x8x64',
      ...rep('8x8x128', 3),
      '4x4x128',
      '2048',
      '2048',
      '2500',
      '2500',
      '1000',
      '1000',
      '10',
    ],
    total: 7920518,
    trainable: 7920518,
    nonTrainable: 0,
    torch: 7920518,
    layerParams: [
      896, 0, 9248, 0, 18496, 0, 36928, 0, 73856, 0, 147584, 0, 0, 0, 5122500, 0, 2501000, 0, 10010,
    ],
  },
  'folder-lenet50': {
    shapes: [
      '254x254x6',
      '252x252x10',
      '126x126x10',
      '126x126x10',
      '124x124x10',
      '122x122x10',
      '122x122x10',
      '120x120x16',
      '60x60x16',
      '60x60x16',
      '58x58x16',
      '29x29x16',
      '29x29x16',
      '27x27x16',
      '13x13x16',
      '13x13x16',
      '11x11x16',
      '11x11x16',
      '10x10x50',
      '10x10x50',
      '50',
      '1200',
      '840',
      '640',
      '200',
      '50',
    ],
    total: 1760902,
    trainable: 1760818,
    nonTrainable: 84,
    torch: 1760818,
    layerParams: [
      168, 550, 0, 0, 910, 910, 40, 1456, 0, 64, 2320, 0, 0, 2320, 0, 64, 2320, 0, 3250, 0, 0, 61200, 1008840,
      538240, 128200, 10050,
    ],
  },
  mlp2: {
    shapes: ['784', '100', '10'],
    total: 79510,
    trainable: 79510,
    nonTrainable: 0,
    torch: 79510,
    layerParams: [0, 78500, 1010],
  },
};

describe('preset registry', () => {
  it('has exactly the stable names, each with a description and a source', () => {
    expect(presetNames()).toEqual(Object.keys(expected));
    for (const p of presets) {
      expect(p.description.length).toBeGreaterThan(20);
      expect(p.description).not.toContain('\n');
      expect(p.source.length).toBeGreaterThan(5);
      expect(p.create()).toEqual(getPreset(p.name).spec);
    }
  });

  it('rejects an unknown preset, listing the known ones', () => {
    expect(() => getPreset('lenet6')).toThrow(
      /unknown preset "lenet6" \(known: lenet5, lenet5-classic, torch-bn/,
    );
  });

  it('rejects options a preset does not take and bad option values', () => {
    expect(() => getPreset('keras-baseline', { pooling: 'avg' })).toThrow(
      /spec "keras-baseline": field "pooling": option "pooling" is not supported/,
    );
    expect(() => getPreset('lenet5', { activation: 'gelu' as 'relu' })).toThrow(/must be 'relu' or 'tanh'/);
    expect(() => getPreset('mlp2', { hidden: 0 })).toThrow(/hidden.*positive integer/);
  });
});

describe.each(presetNames())('preset %s', (name) => {
  const e = expected[name];
  const inferred = inferShapes(getPreset(name).spec);

  it('has the exact output shapes', () => {
    expect(shapesOf(name)).toEqual(e.shapes);
  });

  it('has the exact parameter counts', () => {
    expect(inferred.totalParams).toBe(e.total);
    expect(inferred.trainableParams).toBe(e.trainable);
    expect(inferred.nonTrainableParams).toBe(e.nonTrainable);
    expect(inferred.torchParams).toBe(e.torch);
    if (e.layerParams) expect(inferred.layers.map((l) => l.params)).toEqual(e.layerParams);
  });

  it('ends with a softmax dense layer of `classes` units', () => {
    const { spec } = getPreset(name);
    const last = spec.layers[spec.layers.length - 1];
    expect(last).toMatchObject({ type: 'dense', units: spec.classes, activation: 'softmax' });
    expect(spec.name).toBe(name);
    expect(spec.adaptations).toBeUndefined();
  });
});

describe('preset details from the reports', () => {
  it('torch presets use report 002 dropout 0.75 and PyTorch BatchNorm defaults', () => {
    const { spec } = getPreset('torch-bn');
    expect(spec.layers.filter((l) => l.type === 'dropout').map((l) => ('rate' in l ? l.rate : 0))).toEqual([
      0.75, 0.75, 0.75,
    ]);
    for (const l of spec.layers.filter((x) => x.type === 'batchNorm')) {
      expect(l).toMatchObject({ momentum: 0.9, epsilon: 1e-5 });
    }
    expect(spec.layers[0]).toMatchObject({ type: 'conv2d', filters: 6, kernel: 3, padding: 1 });
  });

  it('torch-nobn has no BatchNorm and the ablations keep it', () => {
    expect(getPreset('torch-nobn').spec.layers.some((l) => l.type === 'batchNorm')).toBe(false);
    expect(getPreset('torch-2conv3fc').spec.layers.filter((l) => l.type === 'batchNorm')).toHaveLength(4);
    expect(getPreset('torch-2conv2fc').spec.layers.filter((l) => l.type === 'batchNorm')).toHaveLength(3);
  });

  it('lenet5 takes activation and pooling; lenet5-classic is tanh + average pooling', () => {
    const classic = getPreset('lenet5-classic').spec;
    expect(classic.layers[0]).toMatchObject({ activation: 'tanh' });
    expect(classic.layers[1].type).toBe('avgPool');
    expect(classic.layers[5]).toMatchObject({ type: 'dense', units: 120, activation: 'tanh' });
    const relu = getPreset('lenet5').spec;
    expect(relu.layers[0]).toMatchObject({ activation: 'relu', padding: 2, kernel: 5 });
    expect(relu.layers[3].type).toBe('maxPool');
    const mixed = getPreset('lenet5', { activation: 'tanh', pooling: 'max' }).spec;
    expect(mixed.layers[0]).toMatchObject({ activation: 'tanh' });
    expect(mixed.layers[1].type).toBe('maxPool');
    expect(inferShapes(mixed).totalParams).toBe(61706);
  });

  it('folder-lenet50 uses He normal on its first conv only, as the report does', () => {
    const { spec } = getPreset('folder-lenet50');
    const convs = spec.layers.filter((l) => l.type === 'conv2d');
    expect(convs).toHaveLength(9);
    expect(convs[0]).toMatchObject({ kernelInitializer: 'heNormal' });
    expect(convs.slice(1).every((c) => !('kernelInitializer' in c))).toBe(true);
    expect(convs.every((c) => 'padding' in c && c.padding === 'valid')).toBe(true);
  });

  it('mlp2 takes a hidden size', () => {
    expect(inferShapes(getPreset('mlp2', { hidden: 32 }).spec).totalParams).toBe(784 * 32 + 32 + 33 * 10);
  });
});

describe('adaptation to a data set', () => {
  it('lenet5 on CIFAR 32x32x3: C1 unpadded, flatten stays 400, changes listed', () => {
    const { spec, adaptations } = getPreset('lenet5', { input: [32, 32, 3], classes: 10 });
    const inferred = inferShapes(spec);
    expect(spec.input).toEqual([32, 32, 3]);
    expect(inferred.layers.map((l) => l.outputShape.join('x'))).toEqual(expected.lenet5.shapes);
    expect(inferred.totalParams).toBe(61706 + 2 * 150);
    expect(adaptations[0]).toBe('input 28x28x1 -> 32x32x3');
    expect(adaptations.some((a) => a.startsWith('C1 padding 2 -> 0'))).toBe(true);
    expect(adaptations).toContain('parameters 61,706 -> 62,006 (Keras count)');
    expect(adaptations.some((a) => a.startsWith('classes'))).toBe(false);
    expect(spec.adaptations).toEqual(adaptations);
  });

  it('folder-lenet50 on 64x64: trailing convs switch to same padding, parameters unchanged', () => {
    const { spec, adaptations } = getPreset('folder-lenet50', { input: [64, 64, 3], classes: 10 });
    const inferred = inferShapes(spec);
    expect(inferred.output).toEqual([10]);
    expect(inferred.layers.every((l) => l.outputShape.every((d) => d >= 1))).toBe(true);
    // 1,760,902 with the final dense resized from 50 to 10 classes: 200*40 + 40 fewer.
    expect(inferred.totalParams).toBe(1760902 - 40 * 201);
    expect(adaptations).toEqual([
      'input 256x256x3 -> 64x64x3',
      'classes 50 -> 10 (units of the final softmax dense layer)',
      "last 2 of 9 convs padding 'valid' -> 'same' so 64x64 feature maps do not shrink to nothing (parameter count unchanged)",
      'parameters 1,760,902 -> 1,752,862 (Keras count)',
    ]);
    const convs = spec.layers.filter((l) => l.type === 'conv2d');
    expect(convs.map((c) => ('padding' in c ? c.padding : undefined))).toEqual([
      ...rep('valid', 7),
      'same',
      'same',
    ]);
  });

  it('torch-bn on 32x32x3 reports the new flatten size', () => {
    const { adaptations } = getPreset('torch-bn', { input: [32, 32, 3] });
    expect(adaptations).toContain('layers[14] flatten 4x4x24 = 384 -> 5x5x24 = 600');
  });

  it('the published input and classes give no adaptations', () => {
    expect(getPreset('vgg-cifar10', { input: [32, 32, 3], classes: 10 }).adaptations).toEqual([]);
  });

  it('keras-deep on 8x8 fails at shape inference naming the layer', () => {
    let err: unknown;
    try {
      getPreset('keras-deep', { input: [8, 8, 1] });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SpecError);
    const se = err as SpecError;
    expect(se.layerIndex).toBe(7);
    expect(se.layerType).toBe('maxPool');
    expect(se.message).toBe(
      `spec "keras-deep": layers[7] (maxPool): output height 0 <= 0 (input 1x1x64, size 2x2, stride 2x2, padding 'valid')`,
    );
  });

  it('folder-lenet50 on an input too small even with same padding fails naming a pooling layer', () => {
    expect(() => getPreset('folder-lenet50', { input: [8, 8, 3] })).toThrow(
      /spec "folder-lenet50": layers\[\d+\] \(maxPool\): output height 0 <= 0/,
    );
  });
});
