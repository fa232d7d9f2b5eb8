import { OptionError } from '@lenet/common';
import { type Cifar10Options, type Cifar100Options, loadCifar10, loadCifar100 } from './cifar.js';
import { type ImageFolderOptions, loadImageFolder } from './folder.js';
import { loadFashionMnist, loadKmnist, loadMnist, type MnistOptions } from './mnist.js';
import type { Dataset } from './types.js';

/** The data sets {@link loadDataset} knows by name. */
export const DATASET_NAMES = ['mnist', 'fashion-mnist', 'kmnist', 'cifar10', 'cifar100', 'folder'] as const;

/** A name accepted by {@link loadDataset}. */
export type DatasetName = (typeof DATASET_NAMES)[number];

/** The options each named data set takes. */
export interface LoadDatasetOptions {
  mnist: MnistOptions;
  'fashion-mnist': MnistOptions;
  kmnist: MnistOptions & { dir: string };
  cifar10: Cifar10Options;
  cifar100: Cifar100Options;
  folder: ImageFolderOptions & { dir: string };
}

/** Whether `name` is one of {@link DATASET_NAMES}. */
export function isDatasetName(name: string): name is DatasetName {
  return (DATASET_NAMES as readonly string[]).includes(name);
}

/** Loads a data set by name with that loader's options (the CLI's entry point). */
export function loadDataset<N extends DatasetName>(
  name: N,
  options: LoadDatasetOptions[N],
): Promise<Dataset> {
  const o = options as LoadDatasetOptions[DatasetName];
  switch (name) {
    case 'mnist':
      return loadMnist(o as MnistOptions);
    case 'fashion-mnist':
      return loadFashionMnist(o as MnistOptions);
    case 'kmnist':
      return loadKmnist(o as LoadDatasetOptions['kmnist']);
    case 'cifar10':
      return loadCifar10(o as Cifar10Options);
    case 'cifar100':
      return loadCifar100(o as Cifar100Options);
    case 'folder': {
      const { dir, ...rest } = o as LoadDatasetOptions['folder'];
      return loadImageFolder(dir, rest);
    }
    default:
      return Promise.reject(
        new OptionError(
          'name',
          `unknown data set '${String(name)}'; expected one of ${DATASET_NAMES.join(', ')}`,
        ),
      );
  }
}
