/**
 * Benchmarks of @lenet/datasets: loading MNIST from raw IDX, batching throughput, and image-folder
 * decode + resize throughput at concurrency 1 and 2. Run directly with
 * `node dist/datasets-bench.js` (after building @lenet/datasets and this package).
 */
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  batchCount,
  batches,
  type Dataset,
  loadImageFolder,
  loadMnist,
  meanStd,
  mnistDataDir,
  readIdx,
} from '@lenet/datasets';
import sharp from 'sharp';
import { Bench } from 'tinybench';

/** One measured figure. */
export interface DatasetBenchRow {
  /** What was measured. */
  task: string;
  /** Mean wall time of one iteration, in milliseconds. */
  meanMs: number;
  /** 99th-percentile wall time of one iteration, in milliseconds. */
  p99Ms: number;
  /** Iterations measured. */
  samples: number;
  /** Throughput from the mean time, in `unit` (a rate: images/s, MB/s, batches/s). */
  value: number;
  unit: string;
}

/** Options of {@link runDatasetBenchmarks}. */
export interface DatasetBenchOptions {
  /** Minimum measuring time per task, in ms. Default 2000. */
  timeMs?: number;
  /** Number of images in the generated image folder. Default 400. */
  folderImages?: number;
}

async function measure(
  name: string,
  fn: () => unknown,
  timeMs: number,
  iterations: number,
): Promise<{ meanMs: number; p99Ms: number; samples: number }> {
  const bench = new Bench({ time: timeMs, iterations, warmupIterations: 2, warmupTime: 0 });
  bench.add(name, fn);
  await bench.run();
  const result = bench.tasks[0].result;
  if (result.state !== 'completed') {
    throw new Error(
      `benchmark '${name}' did not complete: ${result.state === 'errored' ? result.error.message : result.state}`,
    );
  }
  return {
    meanMs: result.latency.mean,
    p99Ms: result.latency.p99,
    samples: result.latency.samples?.length ?? iterations,
  };
}

function drain(ds: Dataset, options: Parameters<typeof batches>[1]): number {
  let sum = 0;
  for (const batch of batches(ds, options)) sum += batch.x[0];
  return sum;
}

/** Writes `count` RGB images (half PNG, half JPEG, 96×96 to 160×120) into `root/<class>/`. */
async function makeImageFolder(root: string, count: number): Promise<void> {
  const classes = ['alpha', 'beta', 'gamma', 'delta'];
  for (const c of classes) await mkdir(join(root, c), { recursive: true });
  for (let i = 0; i < count; i++) {
    const width = 96 + (i % 3) * 32;
    const height = 96 + (i % 2) * 24;
    const raw = Buffer.alloc(width * height * 3);
    for (let p = 0; p < raw.length; p++) raw[p] = (p * 7 + i * 13 + ((p / 97) | 0)) & 255;
    const image = sharp(raw, { raw: { width, height, channels: 3 } });
    const dir = join(root, classes[i % classes.length]);
    if (i % 2 === 0) await image.png().toFile(join(dir, `${i}.png`));
    else await image.jpeg({ quality: 90 }).toFile(join(dir, `${i}.jpg`));
  }
}

/** Runs the data-set benchmarks and returns one row per figure. */
export async function runDatasetBenchmarks(options: DatasetBenchOptions = {}): Promise<DatasetBenchRow[]> {
  const timeMs = options.timeMs ?? 2000;
  const rows: DatasetBenchRow[] = [];

  // 1. Loading: all 60,000 MNIST training images (+ labels) from the raw IDX files.
  const mnist = await loadMnist({ split: 'train' });
  const trainCount = mnist.count;
  const load = await measure('loadMnist train', () => loadMnist({ split: 'train' }), timeMs, 10);
  rows.push({
    task: `loadMnist({ split: "train" }): ${trainCount.toLocaleString('en-US')} images + labels`,
    ...load,
    value: trainCount / (load.meanMs / 1000),
    unit: 'images/s',
  });
  const images = join(mnistDataDir(), 'train-images-idx3-ubyte');
  const megabytes = (await stat(images)).size / 1e6;
  const idx = await measure('readIdx train images', () => readIdx(images), timeMs, 10);
  rows.push({
    task: `readIdx(train-images-idx3-ubyte): ${megabytes.toFixed(0)} MB`,
    ...idx,
    value: megabytes / (idx.meanMs / 1000),
    unit: 'MB/s',
  });

  // 2. Batching: one epoch of MNIST train at batch 64, normalised, shuffled.
  const { mean, std } = meanStd(mnist);
  const variants: { label: string; opts: Parameters<typeof batches>[1] }[] = [
    { label: 'NHWC, mean/std', opts: { batchSize: 64, shuffle: true, seed: 1, normalize: { mean, std } } },
    {
      label: 'NCHW, mean/std',
      opts: { batchSize: 64, shuffle: true, seed: 1, layout: 'NCHW', normalize: { mean, std } },
    },
    {
      label: 'NHWC, mean/std + augment (crop 2, translate 0.1)',
      opts: {
        batchSize: 64,
        shuffle: true,
        seed: 1,
        normalize: { mean, std },
        augment: { crop: { padding: 2 }, translate: 0.1 },
      },
    },
  ];
  for (const { label, opts } of variants) {
    const n = batchCount(mnist, opts);
    const m = await measure(`batches ${label}`, () => drain(mnist, opts), timeMs, 5);
    rows.push({
      task: `batches MNIST train, batch 64, ${label} (${n} batches/epoch)`,
      ...m,
      value: n / (m.meanMs / 1000),
      unit: 'batches/s',
    });
  }

  // 3. Image folder: decode + resize to 32×32 RGB with sharp, no cache.
  const tmp = await mkdtemp(join(tmpdir(), 'lenet-bench-folder-'));
  try {
    const count = options.folderImages ?? 400;
    await makeImageFolder(tmp, count);
    for (const concurrency of [1, 2]) {
      const m = await measure(
        `loadImageFolder concurrency ${concurrency}`,
        () => loadImageFolder(tmp, { size: 32, channels: 3, concurrency }),
        timeMs,
        3,
      );
      rows.push({
        task: `loadImageFolder ${count} PNG/JPEG ~96–160 px → 32×32×3, concurrency ${concurrency}`,
        ...m,
        value: count / (m.meanMs / 1000),
        unit: 'images/s',
      });
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return rows;
}

/** The machine the figures come from. */
export function machineDescription(): string {
  return `${cpus()[0]?.model ?? 'unknown CPU'}, ${availableParallelism()} cores available, Node ${process.version}, sharp ${sharp.versions.sharp} (libvips ${sharp.versions.vips}, sharp.concurrency ${sharp.concurrency()})`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const before = loadavg()[0];
  const rows = await runDatasetBenchmarks();
  console.log(machineDescription());
  console.log(`load average (1 min) before: ${before.toFixed(2)}, after: ${loadavg()[0].toFixed(2)}`);
  console.table(
    rows.map((r) => ({
      task: r.task,
      throughput: `${r.value.toFixed(0)} ${r.unit}`,
      'mean ms': r.meanMs.toFixed(2),
      'p99 ms': r.p99Ms.toFixed(2),
      samples: r.samples,
    })),
  );
}
