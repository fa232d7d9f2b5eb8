import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeDataset } from './describe.js';
import * as api from './index.js';
import { isDatasetName, loadDataset } from './load.js';
import { tempDir } from './testing/fixtures.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterAll(() => cleanup());

describe('loadDataset', () => {
  it('loads MNIST by name; its summary has the well-known pixel statistics', async () => {
    const ds = await loadDataset('mnist', { split: 'train' });
    expect(ds.count).toBe(60000);
    const summary = describeDataset(ds);
    expect(summary.shape).toEqual([28, 28, 1]);
    expect(summary.classCounts).toEqual([5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]);
    // The normalisation constants everyone uses for MNIST: mean 0.1307, std 0.3081.
    expect(summary.pixelMean[0]).toBeCloseTo(0.1307, 4);
    expect(summary.pixelStd[0]).toBeCloseTo(0.3081, 4);
  });

  it('dispatches to the image-folder loader with dir', async () => {
    await mkdir(join(dir, 'k'), { recursive: true });
    await sharp({ create: { width: 3, height: 3, channels: 3, background: '#ff0000' } })
      .png()
      .toFile(join(dir, 'k', 'r.png'));
    const ds = await loadDataset('folder', { dir, size: 2, channels: 1 });
    expect([ds.count, ds.height, ds.width, ds.channels]).toEqual([1, 2, 2, 1]);
    expect(ds.classNames).toEqual(['k']);
  });

  it('rejects an unknown name', async () => {
    expect(isDatasetName('cifar10')).toBe(true);
    expect(isDatasetName('imagenet')).toBe(false);
    await expect(loadDataset('imagenet' as 'mnist', { split: 'test' })).rejects.toThrow(
      "unknown data set 'imagenet'; expected one of mnist, fashion-mnist, kmnist, cifar10, cifar100, folder",
    );
  });

  it('exports the public API', () => {
    for (const name of [
      'readIdx',
      'loadMnist',
      'loadFashionMnist',
      'loadIdxPair',
      'loadCifar10',
      'loadCifar100',
      'loadImageFolder',
      'split',
      'subset',
      'meanStd',
      'batches',
      'batchCount',
      'createRng',
      'describeDataset',
      'loadDataset',
      'DatasetError',
    ]) {
      expect(typeof (api as Record<string, unknown>)[name]).toBe('function');
    }
  });
});
