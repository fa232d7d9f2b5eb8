import { mkdtempSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mutations, settle } from '@lenet/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getPreset } from '../presets.js';
import * as tf from '../tfjs.js';
import { buildModel } from './build.js';
import { ModelFileError } from './errors.js';
import { loadModel, saveModel } from './model-io.js';

/**
 * Property-style test of the model reader: seeded random truncations and byte flips of a real
 * saved model (`model.json` and `weights.bin` of lenet5) must load or throw a ModelFileError
 * naming a file of the model, never another error, never a hang (3 s per case).
 */

const root = mkdtempSync(join(tmpdir(), 'lenet-hostile-model-'));
let json: Uint8Array;
let weights: Uint8Array;
beforeAll(async () => {
  await tf.setBackend('cpu');
  const m = buildModel(getPreset('lenet5').spec, { seed: 1 });
  const saved = join(root, 'saved');
  await saveModel(m, saved, { metadata: { normalize: 'unit' } });
  m.dispose();
  json = await readFile(join(saved, 'model.json'));
  weights = await readFile(join(saved, 'weights.bin'));
});
afterAll(() => rm(root, { recursive: true, force: true }));

async function fuzz(name: 'model.json' | 'weights.bin', original: Uint8Array, count: number, seed: number) {
  const dir = join(root, name);
  await mkdir(dir, { recursive: true });
  let refused = 0;
  for (const m of mutations(original, count, seed)) {
    await writeFile(join(dir, 'model.json'), name === 'model.json' ? m.bytes : json);
    await writeFile(join(dir, 'weights.bin'), name === 'weights.bin' ? m.bytes : weights);
    const r = await settle(loadModel(dir), 3000);
    expect(r.hang, `hang: ${m.what}`).toBeUndefined();
    if (r.error === undefined) {
      (r.value as tf.LayersModel).dispose();
      continue;
    }
    expect(r.error, `${m.what}: ${String(r.error)}`).toBeInstanceOf(ModelFileError);
    expect((r.error as ModelFileError).message, m.what).toContain(dir);
    refused++;
  }
  return refused;
}

describe('hostile model directories: truncations and byte flips', () => {
  it('200 mutations of model.json load or give a ModelFileError naming the file', async () => {
    expect(await fuzz('model.json', json, 200, 21)).toBeGreaterThan(100);
  });

  it('100 mutations of weights.bin load or give a ModelFileError naming the file', async () => {
    expect(await fuzz('weights.bin', weights, 100, 22)).toBeGreaterThan(30);
  });
});
