import { mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getPreset } from '../presets.js';
import type { ModelSpec } from '../spec.js';
import * as tf from '../tfjs.js';
import { buildModel } from './build.js';
import { ModelFileError } from './errors.js';
import { loadModel, readModelMetadata, saveModel } from './model-io.js';

/** A preset built with a fixed seed. */
function model(name: string, seed = 1): { model: tf.LayersModel; spec: ModelSpec } {
  const { spec } = getPreset(name);
  return { model: buildModel(spec, { seed }), spec };
}

/** Plain TensorFlow.js backends: @lenet/backend sits above this package. */
async function useBackend(name: 'cpu' | 'wasm'): Promise<void> {
  if (name === 'wasm') await import('@tensorflow/tfjs-backend-wasm');
  await tf.setBackend(name);
  await tf.ready();
}

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'lenet-models-io-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function roundTrip(backend: 'cpu' | 'wasm'): Promise<void> {
  await useBackend(backend);
  const { model: m, spec } = model('lenet5', 3);
  const dir = join(root, backend);
  const info = await saveModel(m, dir, { metadata: { lenet: { spec } } });
  expect(info.files).toEqual(['model.json', 'weights.bin']);
  expect(info.weightBytes).toBe(m.countParams() * 4);
  expect((await readdir(dir)).sort()).toEqual(['model.json', 'weights.bin']);
  const json = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8'));
  expect(json.format).toBe('layers-model');
  expect(json.weightsManifest[0].paths).toEqual(['weights.bin']);
  const loaded = await loadModel(dir);
  const x = tf.randomUniform([3, 28, 28, 1], 0, 1, 'float32', 7);
  const a = m.predict(x) as tf.Tensor;
  const b = loaded.predict(x) as tf.Tensor;
  expect(Array.from(await b.data())).toEqual(Array.from(await a.data()));
  expect(((await readModelMetadata(dir)).lenet as { spec: { name: string } }).spec.name).toBe('lenet5');
  tf.dispose([x, a, b]);
  m.dispose();
  loaded.dispose();
}

describe('saveModel / loadModel', () => {
  it('round-trips on the cpu backend (no file:// handler)', () => roundTrip('cpu'));
  it('round-trips on the wasm backend', () => roundTrip('wasm'));

  it('refuses weight paths that leave the model directory', async () => {
    await useBackend('cpu');
    const { model: m } = model('lenet5');
    const dir = join(root, 'evil');
    await saveModel(m, dir);
    const file = join(dir, 'model.json');
    const json = JSON.parse(await readFile(file, 'utf8'));
    const outside = join(root, 'outside.bin');
    await writeFile(outside, await readFile(join(dir, 'weights.bin')));
    for (const path of ['../outside.bin', outside, 'file:///etc/passwd', 'sub\\..\\..\\x']) {
      json.weightsManifest[0].paths = [path];
      await writeFile(file, JSON.stringify(json));
      await expect(loadModel(dir)).rejects.toThrow(
        /weight path .* (leaves the model directory|must be relative)/,
      );
    }
    await symlink(outside, join(dir, 'link.bin'));
    json.weightsManifest[0].paths = ['link.bin'];
    await writeFile(file, JSON.stringify(json));
    await expect(loadModel(dir)).rejects.toThrow(/resolves outside the model directory/);
    m.dispose();
  });

  it('checks the manifest against the weight bytes', async () => {
    await useBackend('cpu');
    const { model: m } = model('lenet5');
    const dir = join(root, 'short');
    await saveModel(m, dir);
    const bin = join(dir, 'weights.bin');
    const bytes = await readFile(bin);
    await writeFile(bin, bytes.subarray(0, bytes.length - 4));
    await expect(loadModel(dir)).rejects.toThrow(
      new RegExp(`hold ${bytes.length - 4} bytes, the manifest describes ${bytes.length}`),
    );
    await rm(bin);
    await expect(loadModel(dir)).rejects.toThrow(/weight file "weights.bin" named in .* is missing/);
    await writeFile(join(dir, 'model.json'), '{"modelTopology": 1');
    await expect(loadModel(dir)).rejects.toThrow(ModelFileError);
    await expect(loadModel(join(root, 'nothing-here'))).rejects.toThrow(/cannot read model.json/);
    m.dispose();
  });

  it('overwrites atomically, leaving no temporary files', async () => {
    await useBackend('cpu');
    const { model: m } = model('lenet5', 1);
    const { model: m2 } = model('lenet5', 2);
    const dir = join(root, 'over');
    await saveModel(m, dir);
    await saveModel(m2, dir);
    expect((await readdir(dir)).sort()).toEqual(['model.json', 'weights.bin']);
    const loaded = await loadModel(dir);
    expect(Array.from(await loaded.getWeights()[0].data())).toEqual(
      Array.from(await m2.getWeights()[0].data()),
    );
    m.dispose();
    m2.dispose();
    loaded.dispose();
  });
});
