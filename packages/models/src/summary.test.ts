import { describe, expect, it } from 'vitest';
import { getPreset, presetNames } from './presets.js';
import { inferShapes } from './shapes.js';
import type { ModelSpec } from './spec.js';
import { summary } from './summary.js';

describe('summary of torch-bn (reports 000 and 002)', () => {
  const s = summary(getPreset('torch-bn').spec);

  it('has both totals', () => {
    expect(s).toMatchObject({
      totalParams: 60170,
      trainableParams: 59734,
      nonTrainableParams: 436,
      torchParams: 59734,
    });
  });

  it('has the torchsummary rows of report 000, plus the softmax of our convention', () => {
    const rows = s.torchRows.map((r) => `${r.label} [-1, ${r.outputShape.join(', ')}] ${r.params}`);
    expect(rows).toEqual([
      'Conv2d-1 [-1, 6, 28, 28] 60',
      'BatchNorm2d-2 [-1, 6, 28, 28] 12',
      'Dropout-3 [-1, 6, 28, 28] 0',
      'ReLU-4 [-1, 6, 28, 28] 0',
      'MaxPool2d-5 [-1, 6, 14, 14] 0',
      'Conv2d-6 [-1, 12, 12, 12] 660',
      'BatchNorm2d-7 [-1, 12, 12, 12] 24',
      'Dropout-8 [-1, 12, 12, 12] 0',
      'ReLU-9 [-1, 12, 12, 12] 0',
      'MaxPool2d-10 [-1, 12, 6, 6] 0',
      'Conv2d-11 [-1, 24, 4, 4] 2616',
      'BatchNorm2d-12 [-1, 24, 4, 4] 48',
      'Dropout-13 [-1, 24, 4, 4] 0',
      'ReLU-14 [-1, 24, 4, 4] 0',
      'Linear-15 [-1, 128] 49280',
      'BatchNorm1d-16 [-1, 128] 256',
      'ReLU-17 [-1, 128] 0',
      'Linear-18 [-1, 48] 6192',
      'BatchNorm1d-19 [-1, 48] 96',
      'ReLU-20 [-1, 48] 0',
      'Linear-21 [-1, 10] 490',
      'Softmax-22 [-1, 10] 0',
    ]);
  });

  it('computes the torchsummary sizes of report 000', () => {
    expect(s.inputSizeMB).toBeCloseTo((28 * 28 * 4) / 1024 ** 2, 12);
    // 29,420 output elements (29,410 in the report's table, + 10 for the softmax row).
    expect(s.forwardBackwardMB).toBeCloseTo((2 * 29420 * 4) / 1024 ** 2, 12);
    expect(s.paramsSizeMB).toBeCloseTo((59734 * 4) / 1024 ** 2, 12);
    expect(s.torchTable).toContain('Input size (MB): 0.00\n');
    expect(s.torchTable).toContain('Forward/backward pass size (MB): 0.22\n');
    expect(s.torchTable).toContain('Params size (MB): 0.23\n');
    expect(s.torchTable).toContain('Estimated Total Size (MB): 0.46\n');
  });

  it('renders the torchsummary table with its column layout', () => {
    const lines = s.torchTable.split('\n');
    expect(lines[0]).toBe('-'.repeat(64));
    expect(lines[1]).toBe('        Layer (type)               Output Shape         Param #');
    expect(lines[2]).toBe('='.repeat(64));
    expect(lines[3]).toBe('            Conv2d-1            [-1, 6, 28, 28]              60');
    expect(lines).toContain('           Conv2d-11             [-1, 24, 4, 4]           2,616');
    expect(lines).toContain('           Linear-15                  [-1, 128]          49,280');
    expect(s.torchTable).toContain(
      'Total params: 59,734\nTrainable params: 59,734\nNon-trainable params: 0\n',
    );
  });

  it('renders the Keras table with totals in the Keras convention', () => {
    const lines = s.kerasTable.split('\n');
    expect(lines[0]).toBe('Model: "torch-bn"');
    expect(lines[1]).toBe('_'.repeat(65));
    expect(lines[2]).toBe('Layer (type)                 Output Shape              Param #');
    expect(lines[3]).toBe('='.repeat(65));
    expect(lines[4]).toBe('conv2d_1 (Conv2D)            (None, 28, 28, 6)         60');
    // Keras 2 cuts names to the column, as model.summary() does.
    expect(lines[6]).toBe('batch_normalization_1 (Batch (None, 28, 28, 6)         24');
    expect(s.kerasTable).toContain(
      `dense_3 (Dense)              (None, 10)                490\n${'='.repeat(65)}`,
    );
    expect(s.kerasTable).toContain(
      'Total params: 60,170\nTrainable params: 59,734\nNon-trainable params: 436\n',
    );
  });
});

describe('summary', () => {
  it.each(presetNames())('%s: rows agree with shape inference and totals add up', (name) => {
    const spec = getPreset(name).spec;
    const s = summary(spec);
    const inferred = inferShapes(spec);
    expect(s.rows.map((r) => r.outputShape)).toEqual(inferred.layers.map((l) => l.outputShape));
    expect(s.rows.reduce((a, r) => a + r.params, 0)).toBe(s.totalParams);
    expect(s.torchRows.reduce((a, r) => a + r.params, 0)).toBe(s.torchParams);
    expect(s.kerasTable).toContain(`Total params: ${s.totalParams.toLocaleString('en-US')}\n`);
    expect(s.torchTable).toContain(`Total params: ${s.torchParams.toLocaleString('en-US')}\n`);
    expect(s.torchRows.map((r) => r.label)).toEqual(s.torchRows.map((r, i) => `${r.module}-${i + 1}`));
  });

  it('keras-bn: the report 004 totals', () => {
    expect(summary(getPreset('keras-bn').spec).kerasTable).toContain(
      'Total params: 98,122\nTrainable params: 97,802\nNon-trainable params: 320\n',
    );
  });

  it('vgg-cifar10: the rows sum, not the report total line', () => {
    const s = summary(getPreset('vgg-cifar10').spec);
    expect(s.kerasTable).toContain('Total params: 7,920,518');
    expect(s.kerasTable).toContain('dense_1 (Dense)              (None, 2500)              5122500');
  });

  it('folder-lenet50: global pooling shows as AdaptiveAvgPool2d and Keras totals match report 001', () => {
    const s = summary(getPreset('folder-lenet50').spec);
    expect(s.kerasTable).toContain(
      'Total params: 1,760,902\nTrainable params: 1,760,818\nNon-trainable params: 84\n',
    );
    expect(s.torchRows.find((r) => r.module === 'AdaptiveAvgPool2d')?.outputShape).toEqual([50, 1, 1]);
    expect(s.torchTable).toContain('Input size (MB): 0.75\n');
    expect(s.kerasTable).toContain('(None, 254, 254, 6)');
  });

  it('fused activations become their own torch rows; flatten has none', () => {
    const s = summary(getPreset('lenet5-classic').spec);
    expect(s.torchRows.map((r) => r.label)).toEqual([
      'Conv2d-1',
      'Tanh-2',
      'AvgPool2d-3',
      'Conv2d-4',
      'Tanh-5',
      'AvgPool2d-6',
      'Linear-7',
      'Tanh-8',
      'Linear-9',
      'Tanh-10',
      'Linear-11',
      'Softmax-12',
    ]);
    expect(s.torchTable).toContain('[-1, 16, 5, 5]');
    expect(s.kerasTable).toContain('flatten_1 (Flatten)          (None, 400)               0');
  });

  it('shows the ZeroPadding2D the builder inserts for padding that is not same', () => {
    const spec: ModelSpec = {
      name: 'padded',
      input: [8, 8, 1],
      classes: 2,
      layers: [
        { type: 'conv2d', filters: 2, kernel: 3, stride: 2, padding: 1 },
        { type: 'flatten' },
        { type: 'dense', units: 2 },
      ],
    };
    const s = summary(spec);
    expect(s.rows.map((r) => `${r.name} ${r.className} ${r.outputShape.join('x')}`)).toEqual([
      'conv2d_1_pad ZeroPadding2D 10x10x1',
      'conv2d_1 Conv2D 4x4x2',
      'flatten_1 Flatten 32',
      'dense_1 Dense 2',
    ]);
    expect(s.torchRows.map((r) => r.label)).toEqual(['Conv2d-1', 'Linear-2']);
  });

  it('says what an adapted preset changed, under both tables', () => {
    const s = summary(getPreset('lenet5', { input: [32, 32, 3], classes: 100 }).spec);
    for (const table of [s.kerasTable, s.torchTable]) {
      expect(table).toContain('Adapted from the published network:\n  - input 28x28x1 -> 32x32x3\n');
      expect(table).toContain('  - classes 10 -> 100 (units of the final softmax dense layer)\n');
    }
    expect(s.adaptations.length).toBe(4);
    expect(summary(getPreset('lenet5').spec).kerasTable).not.toContain('Adapted');
  });
});
