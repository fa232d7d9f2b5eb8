import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { staleTempEntries } from '@lenet/common';
import { afterAll, describe, expect, it } from 'vitest';
import { SpecError } from './errors.js';
import { layerNames } from './names.js';
import { getPreset, presetNames } from './presets.js';
import { inferShapes } from './shapes.js';
import type { ModelSpec } from './spec.js';
import { loadSpec, parseSpec, saveSpec, specToJson, validateSpec } from './validate.js';

const dir = mkdtempSync(join(tmpdir(), 'lenet-models-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const small: ModelSpec = {
  name: 'small',
  input: [8, 8, 1],
  classes: 3,
  layers: [
    { type: 'conv2d', filters: 4, kernel: [3, 3], stride: 1, padding: 'same', activation: 'relu' },
    { type: 'maxPool', size: 2 },
    { type: 'flatten' },
    { type: 'dense', units: 3, activation: 'softmax' },
  ],
};

function errorOf(f: () => unknown): SpecError {
  try {
    f();
  } catch (e) {
    if (e instanceof SpecError) return e;
    throw e;
  }
  throw new Error('expected a SpecError');
}

describe('JSON round trip', () => {
  it.each(presetNames())('%s survives specToJson -> parseSpec unchanged', (name) => {
    const { spec } = getPreset(name);
    const back = parseSpec(specToJson(spec));
    expect(back).toEqual(spec);
    expect(inferShapes(back)).toEqual(inferShapes(spec));
  });

  it('keeps adaptations through JSON', () => {
    const { spec } = getPreset('lenet5', { input: [32, 32, 3] });
    expect(parseSpec(specToJson(spec)).adaptations).toEqual(spec.adaptations);
  });

  it('saves atomically and loads from a file', async () => {
    const path = join(dir, 'spec.json');
    saveSpec(path, small);
    expect(readFileSync(path, 'utf8')).toBe(specToJson(small));
    expect(loadSpec(path)).toEqual(small);
    expect(await staleTempEntries(dir)).toEqual([]);
  });

  it('names the file for unreadable, non-JSON and malformed files', () => {
    expect(() => loadSpec(join(dir, 'missing.json'))).toThrow(/missing\.json: cannot read spec file/);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{ "name": ');
    expect(() => loadSpec(bad)).toThrow(/bad\.json: not valid JSON/);
    const wrong = join(dir, 'wrong.json');
    writeFileSync(wrong, JSON.stringify({ ...small, layers: [{ type: 'conv2d', kernel: 3 }] }));
    const e = errorOf(() => loadSpec(wrong));
    expect(e.file).toBe(wrong);
    expect(e.message).toBe(
      `${wrong}: spec "small": layers[0] (conv2d): field "filters": missing (a positive integer is required)`,
    );
  });
});

describe('validation errors name the layer and field', () => {
  const withLayer = (layer: unknown, at = 1): unknown => {
    const layers: unknown[] = [...small.layers];
    layers.splice(at, 0, layer);
    return { ...small, layers };
  };

  it('unknown layer type', () => {
    const e = errorOf(() => validateSpec(withLayer({ type: 'lstm', units: 4 })));
    expect(e.layerIndex).toBe(1);
    expect(e.layerType).toBe('lstm');
    expect(e.message).toMatch(
      /^spec "small": layers\[1\] \(lstm\): field "type": unknown layer type "lstm" \(known: conv2d,/,
    );
  });

  it('missing type', () => {
    expect(() => validateSpec(withLayer({ units: 4 }))).toThrow(
      /layers\[1\] \(unknown type\): field "type": missing/,
    );
  });

  it('missing required fields', () => {
    expect(() => validateSpec(withLayer({ type: 'dropout' }))).toThrow(
      'spec "small": layers[1] (dropout): field "rate": missing (a number in [0, 1) is required)',
    );
    expect(() => validateSpec(withLayer({ type: 'maxPool' }))).toThrow(
      /layers\[1\] \(maxPool\): field "size": missing/,
    );
    expect(() => validateSpec(withLayer({ type: 'activation' }))).toThrow(
      /layers\[1\] \(activation\): field "activation": missing \(one of relu, tanh/,
    );
  });

  it('non-positive and ill-typed sizes', () => {
    expect(() => validateSpec(withLayer({ type: 'conv2d', filters: 0, kernel: 3 }))).toThrow(
      'spec "small": layers[1] (conv2d): field "filters": must be a positive integer, got 0',
    );
    expect(() => validateSpec(withLayer({ type: 'conv2d', filters: 2, kernel: [3, -1] }))).toThrow(
      /field "kernel": must be a positive integer or \[height, width\]/,
    );
    expect(() => validateSpec(withLayer({ type: 'dense', units: 2.5 }, 3))).toThrow(
      /layers\[3\] \(dense\): field "units": must be a positive integer, got 2.5/,
    );
    expect(() => validateSpec(withLayer({ type: 'conv2d', filters: 2, kernel: 3, padding: -1 }))).toThrow(
      /field "padding": must be 'same', 'valid' or a non-negative integer, got -1/,
    );
    expect(() => validateSpec(withLayer({ type: 'dropout', rate: 1 }))).toThrow(
      /field "rate": must be a number in \[0, 1\)/,
    );
    expect(() => validateSpec(withLayer({ type: 'batchNorm', epsilon: 0 }))).toThrow(/field "epsilon"/);
  });

  it('unknown fields and activations', () => {
    expect(() => validateSpec(withLayer({ type: 'conv2d', filter: 2, kernel: 3 }))).toThrow(
      /layers\[1\] \(conv2d\): field "filter": unknown field for a conv2d layer/,
    );
    expect(() => validateSpec(withLayer({ type: 'activation', activation: 'gelu' }))).toThrow(
      /field "activation": must be one of relu, tanh, sigmoid, elu, swish, softmax, linear, got "gelu"/,
    );
  });

  it('model-level fields', () => {
    expect(() => validateSpec({ ...small, input: [28, 28] })).toThrow(
      'spec "small": field "input": must be [height, width, channels] of positive integers, got [28,28]',
    );
    expect(() => validateSpec({ ...small, classes: 0 })).toThrow(
      /field "classes": must be a positive integer/,
    );
    expect(() => validateSpec({ ...small, layers: [] })).toThrow(/field "layers": must be a non-empty array/);
    expect(() => validateSpec({ ...small, name: '' })).toThrow(/field "name": missing or empty/);
    expect(() => validateSpec([1, 2])).toThrow(/a spec must be a JSON object/);
    expect(() => parseSpec('nope')).toThrow(/not valid JSON/);
  });

  it('duplicate and invalid layer names', () => {
    const spec = {
      ...small,
      layers: [{ ...small.layers[0], name: 'dense_1' }, small.layers[1], small.layers[2], small.layers[3]],
    };
    expect(() => validateSpec(spec)).toThrow(
      'spec "small": layers[3] (dense): field "name": duplicate layer name "dense_1" (also used by layers[0])',
    );
    expect(() => validateSpec(withLayer({ type: 'flatten', name: 'has space' }, 2))).toThrow(/field "name"/);
  });

  it('returns a clean copy', () => {
    const copy = validateSpec(small);
    expect(copy).toEqual(small);
    expect(copy).not.toBe(small);
    expect(copy.layers[0]).not.toBe(small.layers[0]);
  });
});

describe('layerNames', () => {
  it('counts per type, Keras style, and keeps explicit names', () => {
    expect(layerNames(getPreset('keras-bn').spec).slice(0, 4)).toEqual([
      'conv2d_1',
      'batch_normalization_1',
      'max_pooling2d_1',
      'conv2d_2',
    ]);
    expect(
      layerNames({
        layers: [
          { type: 'flatten', name: 'in' },
          { type: 'dense', units: 2 },
        ],
      }),
    ).toEqual(['in', 'dense_1']);
  });
});
