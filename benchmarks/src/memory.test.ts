import { afterEach, describe, expect, it, vi } from 'vitest';
import { CellMemoryProbe } from './memory.js';

describe('CellMemoryProbe', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('reads the RSS at most once per interval however often a cell samples, and once more at stop', () => {
    const rss = vi.spyOn(process.memoryUsage, 'rss');
    const probe = new CellMemoryProbe(60_000).start();
    const atStart = rss.mock.calls.length;
    for (let i = 0; i < 1000; i++) probe.sample();
    expect(rss.mock.calls.length - atStart).toBe(1);
    probe.stop();
    expect(rss.mock.calls.length - atStart).toBe(2);
  });

  it('still reports growth seen by a sample', () => {
    let value = 100 * 1024 * 1024;
    vi.spyOn(process.memoryUsage, 'rss').mockImplementation(() => value);
    const probe = new CellMemoryProbe(0).start();
    value += 3 * 1024 * 1024;
    probe.sample();
    value -= 3 * 1024 * 1024;
    expect(probe.stop()).toBe(3);
  });
});
