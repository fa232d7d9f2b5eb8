import { describe, expect, it } from 'vitest';
import { sourceNames } from './sources.js';

describe('sourceNames', () => {
  it('names files under the working directory relative to it, others by as few last segments as tell them apart', () => {
    expect(sourceNames(['/home/u/lenet/runs/a.json', '/srv/b.json'], '/home/u/lenet')).toEqual([
      'runs/a.json',
      'b.json',
    ]);
    expect(
      sourceNames(
        ['/tmp/bench-1/results.json', '/tmp/bench-2/results.json', '/data/x/bench-1/results.json'],
        '/home/u',
      ),
    ).toEqual(['tmp/bench-1/results.json', 'bench-2/results.json', 'x/bench-1/results.json']);
    expect(sourceNames(['/home/u/results.json', '/mnt/results.json'], '/home/u')).toEqual([
      'results.json',
      'mnt/results.json',
    ]);
  });
});
