import { writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Classifier, ImageBatchInput } from '@lenet/common';
import { encodePng, exportImages, invertPixels } from '@lenet/datasets';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fit, predict, predictImages, TrainError } from './index.js';
import { mnistHead, model, useWasm } from './testing/helpers.js';

const tmp = await mkdtemp(join(tmpdir(), 'lenet-predict-images-'));
afterAll(() => rm(tmp, { recursive: true, force: true }));

describe('predictImages on real MNIST images', () => {
  const { model: net } = model('tiny', 3);
  let files: string[] = [];
  let negatives: string[] = [];

  beforeAll(async () => {
    await useWasm();
    await fit(net, await mnistHead('train', 3000), { epochs: 2, batchSize: 64 });
    const test = await mnistHead('test', 40);
    files = (await exportImages(test, join(tmp, 'white-on-black'))).map((f) => f.file);
    negatives = [];
    for (let i = 0; i < test.count; i++) {
      const file = join(tmp, `negative-${i}.png`);
      const shape = { height: 28, width: 28, channels: 1 };
      writeFileSync(file, await encodePng(invertPixels(test.images.subarray(i * 784, (i + 1) * 784)), shape));
      negatives.push(file);
    }
  }, 120_000);

  it('gives exactly the probabilities of predict on the data set, and mostly the true labels', async () => {
    const test = await mnistHead('test', 40);
    const fromFiles = await predictImages(net, files);
    const fromData = await predict(net, test);
    expect(Array.from(fromFiles.probabilities)).toEqual(Array.from(fromData.probabilities));
    expect(fromFiles.inverted.every((v) => !v)).toBe(true);
    const right = Array.from(fromFiles.labels).filter((l, i) => l === test.labels[i]).length;
    // 30 of 40 after two short epochs of a 4-filter net; chance is 4 of 40.
    expect(right).toBeGreaterThanOrEqual(28);
  });

  it('inverts black-on-white copies with auto (same predictions) and not with invert: false', async () => {
    const original = await predictImages(net, files);
    const auto = await predictImages(net, negatives, { invert: 'auto' });
    expect(auto.inverted.every((v) => v)).toBe(true);
    expect(Array.from(auto.probabilities)).toEqual(Array.from(original.probabilities));
    const forced = await predictImages(net, files, { invert: true });
    expect(forced.inverted.every((v) => v)).toBe(true);
    const raw = await predictImages(net, negatives, { invert: false });
    const same = Array.from(raw.labels).filter((l, i) => l === original.labels[i]).length;
    expect(same).toBeLessThan(20);
  });
});

describe('predictImages feeds the classifier as it says', () => {
  /** Records what it is fed; the class is the first value's sign. */
  function recording(seen: ImageBatchInput[], inputSize: Classifier['inputSize']): Classifier {
    return {
      classes: 2,
      inputSize,
      layout: 'NCHW',
      normalization: { mean: [0.5], std: [0.25] },
      async probabilities(batch) {
        seen.push(batch);
        const n = batch.shape[0];
        const per = batch.x.length / n;
        return Float32Array.from({ length: n * 2 }, (_, k) =>
          batch.x[Math.floor(k / 2) * per] > 0 === (k % 2 === 1) ? 1 : 0,
        );
      },
    };
  }

  it('resizes to the input size, normalises with the mean/std and lays out NCHW', async () => {
    const file = join(tmp, 'grey.png');
    // A white 2x2 square in the middle of a black 8x8 image: light on dark, not inverted.
    const pixels = new Uint8Array(64);
    for (const i of [27, 28, 35, 36]) pixels[i] = 255;
    writeFileSync(file, await encodePng(pixels, { height: 8, width: 8, channels: 1 }));
    const seen: ImageBatchInput[] = [];
    const r = await predictImages(recording(seen, [8, 8, 1]), [file, file]);
    expect(seen[0].shape).toEqual([2, 1, 8, 8]);
    expect(seen[0].x[0]).toBeCloseTo((0 - 0.5) / 0.25, 6);
    expect(seen[0].x[27]).toBeCloseTo((1 - 0.5) / 0.25, 6);
    expect(Array.from(r.labels)).toEqual([0, 0]);
    expect(r.inverted).toEqual([false, false]);

    const small: ImageBatchInput[] = [];
    await predictImages(recording(small, [undefined, undefined, 1]), [file], { size: [4, 4] });
    expect(small[0].shape).toEqual([1, 1, 4, 4]);
  });

  it('says what is missing', async () => {
    const c = recording([], [undefined, undefined, 1]);
    await expect(predictImages(c, [])).rejects.toThrow(TrainError);
    await expect(predictImages(c, [join(tmp, 'grey.png')])).rejects.toThrow(/pass size: \[height, width\]/);
    await expect(predictImages(recording([], [8, 8, 1]), [join(tmp, 'missing.png')])).rejects.toThrow(
      /missing\.png: .*no such file/,
    );
  });
});
