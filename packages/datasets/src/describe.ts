import { classCounts, meanStd } from './split.js';
import type { Dataset } from './types.js';

/** A small printable summary of a data set (what `lenet datasets info` shows). */
export interface DatasetSummary {
  source: string;
  count: number;
  /** `[height, width, channels]` of one image. */
  shape: [number, number, number];
  classes: number;
  classNames: string[];
  /** Samples per class, index-aligned with `classNames`. */
  classCounts: number[];
  /** Per-channel pixel mean in 0..1 units. */
  pixelMean: number[];
  /** Per-channel pixel standard deviation in 0..1 units. */
  pixelStd: number[];
  /** Bytes of pixels and labels held in memory. */
  bytes: number;
}

/** Summarises a data set: count, image shape, classes with their counts, pixel mean and std. */
export function describeDataset(ds: Dataset): DatasetSummary {
  const { mean, std } = meanStd(ds);
  return {
    source: ds.source,
    count: ds.count,
    shape: [ds.height, ds.width, ds.channels],
    classes: ds.classNames.length,
    classNames: [...ds.classNames],
    classCounts: classCounts(ds),
    pixelMean: mean,
    pixelStd: std,
    bytes: ds.images.byteLength + ds.labels.byteLength,
  };
}
