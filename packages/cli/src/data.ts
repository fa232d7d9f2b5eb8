import { readdir, stat } from 'node:fs/promises';
import type { Dataset } from '@lenet/datasets';
import { BadInputError, UsageError } from './errors.js';

/** Data set names the CLI accepts for `--dataset`. */
export const CLI_DATASETS = ['mnist', 'fashion-mnist', 'kmnist', 'cifar10', 'cifar100', 'folder'] as const;
export type CliDatasetName = (typeof CLI_DATASETS)[number];

/** How to read one data set from the command line. */
export interface DatasetRequest {
  name: CliDatasetName;
  dir?: string;
  split: 'train' | 'test';
  /** Image-folder target size `[h, w]` and channels (from the model's input). */
  size?: [number, number];
  channels?: 1 | 3;
}

/** Guesses a folder's format from the files it holds: IDX, CIFAR-10, CIFAR-100 or an image folder. */
export async function detectFormat(dir: string): Promise<CliDatasetName> {
  let names: string[];
  try {
    if (!(await stat(dir)).isDirectory()) throw new BadInputError(`${dir}: not a directory`);
    names = await readdir(dir);
  } catch (e) {
    if (e instanceof BadInputError) throw e;
    throw new BadInputError(`${dir}: cannot read the data directory (${(e as Error).message})`);
  }
  if (names.some((n) => /^(train|t10k)-images-idx3-ubyte(\.gz)?$/.test(n))) return 'mnist';
  if (names.some((n) => /^(data_batch_\d|test_batch)\.bin$/.test(n))) return 'cifar10';
  if (names.includes('train.bin') || names.includes('test.bin')) return 'cifar100';
  return 'folder';
}

/** Loads the requested split; a loader's `DatasetError` names the bad file (exit code 2). */
export async function loadRequested(req: DatasetRequest): Promise<Dataset> {
  const datasets = await import('@lenet/datasets');
  const { name, dir, split } = req;
  if ((name === 'cifar10' || name === 'cifar100' || name === 'folder' || name === 'kmnist') && !dir) {
    throw new UsageError(`--data <dir> is required for --dataset ${name}`);
  }
  switch (name) {
    case 'mnist':
      return await datasets.loadMnist({ split, dir });
    case 'fashion-mnist':
      return await datasets.loadFashionMnist({ split, dir: dir ?? datasets.DEBIAN_FASHION_MNIST_DIR });
    case 'kmnist':
      return await datasets.loadKmnist({ split, dir: dir as string });
    case 'cifar10':
      return await datasets.loadCifar10({ split, dir: dir as string });
    case 'cifar100':
      return await datasets.loadCifar100({ split, dir: dir as string });
    case 'folder':
      // An image folder has no test set of its own: a seeded held-out part (or its test/ folder).
      return await datasets.loadImageFolder(dir as string, {
        size: req.size ?? [28, 28],
        channels: req.channels ?? 3,
        split: { part: split },
      });
  }
}
