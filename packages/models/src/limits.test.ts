import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OptionError } from '@lenet/common';
import { fifo, fifoWriters } from '@lenet/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { SpecError } from './errors.js';
import { checkSpecLimits, DEFAULT_SPEC_LIMITS } from './limits.js';
import { getPreset, presetNames } from './presets.js';
import type { LayerSpec, ModelSpec } from './spec.js';
import { loadSpec, parseSpec } from './validate.js';

const posix = process.platform !== 'win32';
const dir = mkdtempSync(join(tmpdir(), 'lenet-models-limits-'));
afterAll(() => {
  for (const w of fifoWriters) w.kill();
  rmSync(dir, { recursive: true, force: true });
});

const net = (input: [number, number, number], layers: LayerSpec[], classes = 10): ModelSpec => ({
  name: 'big',
  input,
  classes,
  layers,
});

function specError(f: () => unknown): SpecError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(SpecError);
    return e as SpecError;
  }
  throw new Error('expected a SpecError');
}

describe('size limits from shape inference (class 2)', () => {
  it('refuses a million-unit dense layer, naming the layer and the maxParams option', () => {
    const spec = net(
      [28, 28, 1],
      [{ type: 'flatten' }, { type: 'dense', units: 1_000_000 }, { type: 'dense', units: 10 }],
    );
    const e = specError(() => checkSpecLimits(spec));
    expect(e.layerIndex).toBe(1);
    expect(e.message).toBe(
      'spec "big": layers[1] (dense): field "units": 785,000,000 parameters (784 inputs × 1,000,000 units); the model has 795,000,010 in all, more than the limit of 50,000,000 (raise it with the maxParams option)',
    );
    expect(() => checkSpecLimits(spec, { maxParams: 1e9 })).not.toThrow();
  });

  it('refuses activations too large for memory, naming the layer and maxActivations', () => {
    const spec = net(
      [2000, 2000, 1],
      [{ type: 'conv2d', filters: 1000, kernel: 3 }, { type: 'globalAvgPool' }, { type: 'dense', units: 10 }],
    );
    const e = specError(() => checkSpecLimits(spec));
    expect(e.layerType).toBe('conv2d');
    expect(e.reason).toMatch(
      /^outputs 1998×1998×1000 = 3,992,004,000 values per image; .* more than the limit of 33,554,432 \(raise it with the maxActivations option\)$/,
    );
    const input = specError(() =>
      checkSpecLimits(net([30000, 30000, 3], [{ type: 'globalAvgPool' }, { type: 'dense', units: 10 }])),
    );
    expect(input.field).toBe('input');
    expect(input.reason).toMatch(/^the input holds 30000×30000×3 = 2,700,000,000 values per image/);
  });

  it('refuses more layers than maxLayers', () => {
    const layers: LayerSpec[] = [
      { type: 'flatten' },
      ...Array.from({ length: 1000 }, () => ({ type: 'dropout', rate: 0 }) as LayerSpec),
      { type: 'dense', units: 10 },
    ];
    expect(specError(() => checkSpecLimits(net([2, 2, 1], layers))).reason).toBe(
      '1,002 layers, more than the limit of 1,000 (raise it with the maxLayers option)',
    );
    expect(checkSpecLimits(net([2, 2, 1], layers), { maxLayers: 2000 }).layers).toHaveLength(1002);
  });

  it('passes every preset at its own input size, and checks the limit options', () => {
    for (const name of presetNames()) expect(() => checkSpecLimits(getPreset(name).spec)).not.toThrow();
    expect(DEFAULT_SPEC_LIMITS.maxParams).toBe(50_000_000);
    const spec = getPreset('lenet5').spec;
    expect(() => checkSpecLimits(spec, { maxParams: 0 })).toThrow(OptionError);
    expect(() => checkSpecLimits(spec, { maxParams: 0 })).toThrow(
      'maxParams must be a positive integer, got 0',
    );
    expect(() => checkSpecLimits(spec, { maxActivations: Number.POSITIVE_INFINITY })).not.toThrow();
  });
});

describe('deeply nested specs (class 7)', () => {
  const deep = (depth: number) =>
    `{"name":"deep","input":${'['.repeat(depth)}${']'.repeat(depth)},"classes":2,"layers":[]}`;

  it('names the file and the depth limit instead of overflowing the stack', () => {
    const file = join(dir, 'deep.json');
    writeFileSync(file, deep(200_000));
    const e = specError(() => loadSpec(file));
    expect(e.file).toBe(file);
    expect(e.message).toBe(
      `${file}: nested more than 64 levels deep (a spec nests 4); refused before it is read further`,
    );
  });

  it('refuses an already-parsed value nested too deeply, and accepts ordinary nesting', () => {
    let value: unknown = 1;
    for (let i = 0; i < 100_000; i++) value = [value];
    expect(specError(() => parseSpec({ name: 'x', input: value, classes: 2, layers: [] })).reason).toMatch(
      /nested more than 64 levels/,
    );
    expect(specError(() => parseSpec(deep(65))).reason).toMatch(/nested more than 64 levels/);
    expect(specError(() => parseSpec(deep(60))).reason).toMatch(/must be \[height, width, channels\]/);
  });
});

describe('spec files: regular files within a size limit (classes 2 and 3)', () => {
  it.runIf(posix)('refuses a FIFO at once instead of waiting for a writer', () => {
    const path = fifo(dir, 'spec-pipe.json');
    const started = Date.now();
    const e = specError(() => loadSpec(path));
    expect(Date.now() - started).toBeLessThan(1500);
    expect(e.message).toBe(
      `${path}: cannot read spec file: is a FIFO (named pipe), not a regular file: only regular files are read as data`,
    );
  });

  it.runIf(posix)('refuses a device', () => {
    expect(() => loadSpec('/dev/zero')).toThrow('/dev/zero: cannot read spec file: is a character device');
  });

  it('refuses a file over maxBytes from its length', () => {
    const file = join(dir, 'huge.json');
    writeFileSync(file, '');
    truncateSync(file, 5 * 1024 * 1024);
    expect(() => loadSpec(file)).toThrow(
      /huge\.json: cannot read spec file: is 5242880 bytes, more than the 4194304-byte limit \(raise it with the maxBytes option\)/,
    );
    expect(() => loadSpec(file, { maxBytes: 0 })).toThrow(OptionError);
  });
});
