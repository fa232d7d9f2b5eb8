/** Peak resident set size sampled while a cell runs. */

const MB = 1024 * 1024;

/**
 * Samples `process.memoryUsage.rss()` every `intervalMs` (and whenever `sample()` is called, e.g.
 * after each iteration) and keeps the highest value. The timer is unref'd so it never keeps the
 * process alive. Note: WebAssembly memory never shrinks, so under wasm the RSS of a cell includes
 * the high-water mark of earlier cells in the same process.
 */
export class RssSampler {
  private peak = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly intervalMs = 20) {}

  /** Starts sampling (resets the peak to the current RSS). */
  start(): this {
    this.peak = process.memoryUsage.rss();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
    return this;
  }

  /** Takes one sample now. */
  sample(): void {
    const rss = process.memoryUsage.rss();
    if (rss > this.peak) this.peak = rss;
  }

  /** Stops sampling and returns the peak in MiB. */
  stop(): number {
    this.sample();
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    return Math.round((this.peak / MB) * 10) / 10;
  }
}
