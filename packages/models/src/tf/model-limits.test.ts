import { mkdtempSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OptionError } from '@lenet/common';
import { fifo, fifoWriters, settle } from '@lenet/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SpecError } from '../errors.js';
import { getPreset, presetNames } from '../presets.js';
import type { ModelSpec } from '../spec.js';
import * as tf from '../tfjs.js';
import { buildModel } from './build.js';
import { ModelFileError } from './errors.js';
import { loadModel, readModelFiles, saveModel } from './model-io.js';

const posix = process.platform !== 'win32';
const root = mkdtempSync(join(tmpdir(), 'lenet-model-limits-'));
let saved: string;
let modelJson: Record<string, unknown>;
beforeAll(async () => {
  await tf.setBackend('cpu');
  saved = join(root, 'lenet5');
  const m = buildModel(getPreset('lenet5').spec, { seed: 1 });
  await saveModel(m, saved, { metadata: { normalize: { mean: [0.1307], std: [0.3081] } } });
  m.dispose();
  modelJson = JSON.parse(await readFile(join(saved, 'model.json'), 'utf8'));
});
afterAll(async () => {
  for (const w of fifoWriters) w.kill();
  await rm(root, { recursive: true, force: true });
});

/** A copy of the saved lenet5 directory with `model.json` changed by `edit` (or given as text). */
async function variant(name: string, edit: (json: Record<string, unknown>) => unknown): Promise<string> {
  const dir = join(root, name);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'weights.bin'), await readFile(join(saved, 'weights.bin')));
  const json = structuredClone(modelJson);
  const text = edit(json);
  await writeFile(join(dir, 'model.json'), typeof text === 'string' ? text : JSON.stringify(json));
  return dir;
}

type Layer = { class_name: string; config: Record<string, unknown> };
const layersOf = (json: Record<string, unknown>) =>
  (json.modelTopology as { config: { layers: Layer[] } }).config.layers;

/** The ModelFileError reading `dir` settled to within 3 s (a hang or another error fails). */
async function refusal(promise: Promise<unknown>): Promise<ModelFileError> {
  const r = await settle(promise, 3000);
  expect(r.hang, 'hang').toBeUndefined();
  expect(r.error).toBeInstanceOf(ModelFileError);
  return r.error as ModelFileError;
}

describe('a model.json is sized from what it declares, before reading weights or building (class 2)', () => {
  it('refuses a topology declaring a huge dense layer, naming the layer and maxParams', async () => {
    const dir = await variant('huge-dense', (json) => {
      layersOf(json)[5].config.units = 200_000;
      json.weightsManifest = [{ paths: [], weights: [] }];
    });
    const started = Date.now();
    const e = await refusal(loadModel(dir));
    expect(Date.now() - started).toBeLessThan(2000);
    expect(e.message).toBe(
      `${join(dir, 'model.json')}: layer 5 (dense_1, Dense): 80,200,000 parameters (400 inputs × 200,000 units); the model has 97,003,506 in all, more than the limit of 50,000,000 (raise it with the maxParams option)`,
    );
    expect(e.cause).toBeInstanceOf(SpecError);
  });

  it('refuses a huge declared input by its activations', async () => {
    const dir = await variant('huge-input', (json) => {
      layersOf(json)[0].config.batch_input_shape = [null, 20000, 20000, 1];
      layersOf(json)[4].class_name = 'GlobalAveragePooling2D';
    });
    expect((await refusal(loadModel(dir))).message).toMatch(
      /layer 0 \(conv2d_1, Conv2D\): outputs 20000×20000×6 = 2,400,000,000 values per image; .*maxActivations/,
    );
  });

  it('refuses a manifest declaring more bytes than maxBytes before reading a weight', async () => {
    const dir = await variant('huge-manifest', (json) => {
      const group = (json.weightsManifest as { weights: { shape: number[] }[] }[])[0];
      group.weights[4].shape = [400_000, 120_000];
    });
    expect((await refusal(readModelFiles(dir))).message).toMatch(
      /weight dense_1\/kernel of shape \[400000, 120000\] alone takes 192000000000 bytes, more than the 1073741824-byte limit \(raise it with the maxBytes option\)/,
    );
    await expect(readModelFiles(saved, { maxBytes: 1000 })).rejects.toThrow(
      /more than the 1000-byte limit \(raise it with the maxBytes option\)/,
    );
    await expect(readModelFiles(saved, { maxBytes: 200_000 })).rejects.toThrow(
      /the manifest declares \d+ bytes of weights or more, more than the 200000-byte limit/,
    );
  });

  it('refuses a weight file listed twice, layer classes it cannot size, and a topology with no input', async () => {
    const twice = await variant('twice', (json) => {
      (json.weightsManifest as { paths: string[] }[])[0].paths = ['weights.bin', './weights.bin'];
    });
    expect((await refusal(readModelFiles(twice))).message).toMatch(
      /weight file ".\/weights.bin" is listed twice/,
    );
    const lstm = await variant('lstm', (json) => {
      layersOf(json)[4].class_name = 'LSTM';
    });
    expect((await refusal(readModelFiles(lstm))).message).toMatch(
      /layer 4 \(flatten_1, LSTM\): lenet reads models made of the layer classes it builds/,
    );
    const noInput = await variant('no-input', (json) => {
      delete layersOf(json)[0].config.batch_input_shape;
    });
    expect((await refusal(readModelFiles(noInput))).message).toMatch(/declares no input shape/);
  });

  it('reads every preset it saves, and checks its own options', async () => {
    for (const name of presetNames()) {
      const dir = join(root, `preset-${name}`);
      const m = buildModel(getPreset(name).spec as ModelSpec, { seed: 1 });
      await saveModel(m, dir);
      m.dispose();
      await expect(readModelFiles(dir), name).resolves.toBeDefined();
    }
    await expect(readModelFiles(saved, { maxJsonBytes: 10 })).rejects.toThrow(
      /more than the 10-byte limit \(raise it with the maxJsonBytes option\)/,
    );
    await expect(readModelFiles(saved, { maxBytes: -1 })).rejects.toThrow(OptionError);
  });
});

describe('non-finite values in weights and metadata are refused where they enter (class 1)', () => {
  it('names a weight holding NaN', async () => {
    const dir = await variant('nan-weight', () => undefined);
    const bin = await readFile(join(dir, 'weights.bin'));
    bin.writeFloatLE(Number.NaN, 4 * 160); // conv2d_2/kernel starts after 150 + 6 floats
    await writeFile(join(dir, 'weights.bin'), bin);
    expect((await refusal(loadModel(dir))).message).toBe(
      `${join(dir, 'model.json')}: weight conv2d_2/kernel holds NaN at index 4: a model with non-finite weights gives NaN for every input (was it saved after training diverged?)`,
    );
  });

  it('names an unusable normalisation in the metadata', async () => {
    for (const [name, normalize, pattern] of [
      [
        'inf-mean',
        '{"mean":[1e999],"std":[0.3]}',
        /userDefinedMetadata: normalize.mean\[0\] is Infinity, not a finite number/,
      ],
      ['zero-std', '{"mean":[0.1],"std":[0]}', /userDefinedMetadata: normalize.std must be > 0/],
    ] as const) {
      const dir = await variant(name, (json) =>
        JSON.stringify(json).replace(
          '"normalize":{"mean":[0.1307],"std":[0.3081]}',
          `"normalize":${normalize}`,
        ),
      );
      expect((await refusal(readModelFiles(dir))).message).toMatch(pattern);
    }
  });
});

describe('model.json is a regular file, nested within the limit (classes 3 and 7)', () => {
  it.runIf(posix)('refuses a FIFO as model.json at once', async () => {
    const dir = join(root, 'fifo');
    await mkdir(dir);
    const path = fifo(dir, 'model.json');
    expect((await refusal(loadModel(dir))).message).toBe(
      `${path}: cannot read model.json: is a FIFO (named pipe), not a regular file: only regular files are read as data`,
    );
  });

  it('refuses deep nesting, naming the file', async () => {
    const dir = await variant('deep', () => `{"modelTopology":${'['.repeat(100_000)}${']'.repeat(100_000)}}`);
    expect((await refusal(readModelFiles(dir))).message).toBe(
      `${join(dir, 'model.json')}: nested more than 64 levels deep; refused before parsing`,
    );
  });
});

describe('buildModel checks the limits before allocating a weight (class 2)', () => {
  it('names the layer instead of failing with "Invalid typed array length"', () => {
    const spec: ModelSpec = {
      name: 'wide',
      input: [128, 128, 1],
      classes: 10,
      layers: [
        { type: 'conv2d', filters: 200_000, kernel: 100 },
        { type: 'globalAvgPool' },
        { type: 'dense', units: 10 },
      ],
    };
    const started = Date.now();
    expect(() => buildModel(spec)).toThrow(SpecError);
    expect(() => buildModel(spec)).toThrow(
      'spec "wide": layers[0] (conv2d): field "filters": 2,000,200,000 parameters (100×100 kernel × 1 channels × 200,000 filters); the model has 2,002,200,010 in all, more than the limit of 50,000,000 (raise it with the maxParams option)',
    );
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('checks its options', () => {
    const { spec } = getPreset('lenet5');
    expect(() => buildModel(spec, { seed: Number.NaN })).toThrow(OptionError);
    expect(() => buildModel(spec, { seed: Number.NaN })).toThrow('seed must be a finite number, got NaN');
    expect(() => buildModel(spec, { reluInitializer: 'ones' as 'zeros' })).toThrow(
      /reluInitializer must be one of 'heNormal'/,
    );
    expect(() => buildModel(spec, { maxParams: 1000 })).toThrow(/more than the limit of 1,000/);
  });
});
