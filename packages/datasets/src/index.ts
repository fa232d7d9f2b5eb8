/** @lenet/datasets public API. */

/** Options of seeded augmentation (crop with padding, flip, translation) and its per-sample transform. */
export type { AugmentOptions, SampleTransform } from './augment.js';
/** Draws one sample's augmentation transform from a seeded generator. */
export { applyTransform, sampleTransform } from './augment.js';
/** Options of `batches` and per-channel normalisation. */
export type { BatchOptions, MeanStd } from './batches.js';
/**
 * Float32 batches (NHWC or NCHW) one at a time, and how many there will be; the same batches through a
 * cursor that can write the next one ahead; and memory for batches kept from pass to pass
 * (`reuseBuffers`), so that no epoch writes into new pages.
 */
export {
  type BatchBuffers,
  type BatchCursor,
  batchBuffers,
  batchCount,
  batchCursor,
  batches,
} from './batches.js';
/** Options and data sets of the CIFAR loaders. */
export type { Cifar10Options, Cifar100Dataset, Cifar100Options } from './cifar.js';
/** CIFAR-10/100 binary-batch loaders, their default size limit and the default CIFAR-10 class names. */
export { CIFAR_DEFAULT_MAX_BYTES, CIFAR10_CLASSES, loadCifar10, loadCifar100 } from './cifar.js';
/** A printable summary of a data set. */
export type { DatasetSummary } from './describe.js';
/** Summarises a data set: count, shape, classes and counts, pixel mean/std. */
export { describeDataset } from './describe.js';
/** The error every loader throws for bad input; it names the file. */
export { DatasetError } from './errors.js';
/** Options and result of the image-folder loader. */
export type { FolderDataset, FolderSplit, ImageFolderOptions } from './folder.js';
/** Image-folder loader (torchvision ImageFolder semantics), its default size limit, and its classes without loading. */
export { FOLDER_DEFAULT_MAX_BYTES, imageFolderClasses, loadImageFolder } from './folder.js';
/** How folder images are fitted and resampled, decoding one image the same way, the extensions looked for. */
export {
  type DecodeImageOptions,
  decodeImageFile,
  defaultImageExtensions,
  type FolderFit,
  type FolderKernel,
} from './folder-decode.js';
/** A file the image-folder loader left out, and why. */
export type { SkippedFile } from './folder-walk.js';
/** A decoded IDX array and the limits on reading one. */
export type { IdxArray, ReadIdxOptions } from './idx.js';
/** IDX reader (plain or gzip) for the MNIST family. */
export { IDX_DEFAULT_MAX_BYTES, parseIdx, readIdx } from './idx.js';
/** Options of `exportImages` and the files it wrote. */
export type { ExportedImage, ExportImagesOptions } from './image-export.js';
/** PNG encoding of one image, and a data set's images written as `<index>-<label>.png` files. */
export { encodePng, exportImages } from './image-export.js';
/** Height, width and channels of one image. */
export type { ImageShape } from './image-polarity.js';
/** Whether an image is dark ink on a light background (unlike MNIST), and its negative. */
export { invertPixels, isDarkOnLight } from './image-polarity.js';
/** Names and options of the `loadDataset` dispatcher. */
export type { DatasetName, LoadDatasetOptions } from './load.js';
/** Loads a data set by name (used by the CLI). */
export { DATASET_NAMES, isDatasetName, loadDataset } from './load.js';
/** Options of the MNIST-family loaders. */
export type { IdxPairOptions, MnistOptions, Split } from './mnist.js';
/** MNIST, Fashion-MNIST, KMNIST and generic IDX-pair loaders, with their class names. */
export {
  DEBIAN_FASHION_MNIST_DIR,
  FASHION_MNIST_CLASSES,
  KMNIST_CLASSES,
  loadFashionMnist,
  loadIdxPair,
  loadKmnist,
  loadMnist,
  MNIST_CLASSES,
  mnistDataDir,
} from './mnist.js';
/** A seeded pseudo-random generator. */
export type { Rng } from './random.js';
/** Seeded PRNG (mulberry32), seed mixing, Fisher–Yates shuffle and permutations. */
export { createRng, mixSeed, permutation, shuffleInPlace } from './random.js';
/** Options of `split` and per-channel statistics. */
export type { ChannelStats, SplitOptions } from './split.js';
/** Train/validation split, subsets, the first N samples, class counts and per-channel mean/std. */
export { classCounts, head, meanStd, split, subset } from './split.js';
/** The shared types: data set, batch, layout, labels. */
export type { Batch, Dataset, Labels, Layout } from './types.js';
/** The package name. */
export const packageName = '@lenet/datasets';
