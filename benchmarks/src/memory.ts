/**
 * What one cell allocates: the growth of the resident set size across the cell and, for
 * TensorFlow.js cells, the tensor bytes it holds and its peak within one iteration. The process's
 * own peak RSS is not reported: it only grows over a run, so each cell would show the high-water
 * mark of every cell before it.
 */
import * as tf from './tfjs.js';

const MB = 1024 * 1024;
const mb = (bytes: number): number => Math.round((bytes / MB) * 10) / 10;

/**
 * Samples `process.memoryUsage.rss()` every `intervalMs` (on a timer, and when `sample()` is
 * called, e.g. after each iteration, at most once per `intervalMs`) from `start()` on, and reports the highest value minus the value at
 * `start()`. The timer is unref'd so it never keeps the process alive. Memory that earlier cells
 * grew and released (the wasm heap never shrinks) is reused before RSS grows, so the growth is a
 * lower bound of what the cell allocated.
 */
export class CellMemoryProbe {
  private startRss = 0;
  private peakRss = 0;
  private startBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private lastSample = Number.NEGATIVE_INFINITY;

  constructor(private readonly intervalMs = 20) {}

  /** Starts sampling; call before the cell builds anything. */
  start(): this {
    this.startRss = process.memoryUsage.rss();
    this.peakRss = this.startRss;
    this.startBytes = tf.memory().numBytes;
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
    return this;
  }

  /**
   * Takes one RSS sample, unless one was taken less than `intervalMs` ago: reading the RSS costs
   * 10-40 µs (it reads /proc), as much as a whole batch-1 call of a small model, and a cell calls
   * this after every timed iteration, which the PyTorch column has no counterpart of.
   */
  sample(): void {
    const now = performance.now();
    if (now - this.lastSample < this.intervalMs) return;
    this.lastSample = now;
    const rss = process.memoryUsage.rss();
    if (rss > this.peakRss) this.peakRss = rss;
  }

  /** Tensor bytes held now beyond those held at `start()`, MiB. */
  tensorMb(): number {
    return mb(tf.memory().numBytes - this.startBytes);
  }

  /**
   * Runs one iteration under `tf.profile` and returns its peak tensor bytes beyond those held at
   * `start()`, MiB (undefined when the iteration ran no TensorFlow.js kernel).
   */
  async peakTensorMb(iteration: () => Promise<void>): Promise<number | undefined> {
    const info = await tf.profile(async () => {
      await iteration();
    });
    return Number.isFinite(info.peakBytes) ? mb(info.peakBytes - this.startBytes) : undefined;
  }

  /** Stops sampling and returns the RSS growth across the cell, MiB. */
  stop(): number {
    this.lastSample = Number.NEGATIVE_INFINITY;
    this.sample();
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    return mb(Math.max(0, this.peakRss - this.startRss));
  }
}
