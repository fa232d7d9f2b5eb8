import { getPreset } from '@lenet/models';
import { describe, expect, it } from 'vitest';
import { syntheticMnistPair } from '../testing/fixtures.js';
import { type CellContext, measuredCell } from './common.js';

const memory = async () => ({ memory: { rssGrowthMb: 0 }, note: 'compiled pass' });

function context(partner?: CellContext['partner']): CellContext {
  return {
    model: 'mlp2',
    spec: getPreset('mlp2').spec,
    backend: 'wasm',
    batch: 64,
    timing: { iterations: 4, timeMs: 0, warmupIterations: 0 },
    data: syntheticMnistPair(1),
    ...(partner ? { partner } : {}),
  };
}

describe('measuredCell', () => {
  it('records the median of the per-round ratios of a cell timed in rounds with PyTorch', async () => {
    const theirs = [1000, 3000, 2000, 5000];
    const cell = await measuredCell(
      'infer',
      context({ rounds: 4, round: async (i) => theirs[i] }),
      // Ours takes 0.5 ms every round (tinybench's overriddenDuration), so timing noise on a busy
      // machine cannot reorder the ratios: each is PyTorch's mean over ours.
      async () => ({ overriddenDuration: 0.5 }),
      memory,
    );
    expect(cell.paired?.against).toBe('pytorch-cpu');
    expect(cell.paired?.ratios).toEqual([2000, 6000, 4000, 10000]);
    expect(cell.paired?.median).toBe(5000);
    expect(cell.note).toBe('compiled pass');
    expect(cell.iterations).toBe(4);
  });

  it('says in the note where pairing stopped, and records no pairing without a round', async () => {
    const cell = await measuredCell(
      'infer',
      context({
        rounds: 2,
        round: async () => {
          throw new Error('pytorch_ref.py --serve exited (code 139)');
        },
      }),
      async () => {},
      memory,
    );
    expect(cell.paired).toBeUndefined();
    expect(cell.note).toBe(
      'compiled pass; paired with PyTorch for 0 round(s) only: pytorch_ref.py --serve exited (code 139)',
    );
    const alone = await measuredCell('infer', context(), async () => {}, memory);
    expect(alone.paired).toBeUndefined();
    expect(alone.status).toBe('ok');
  });
});
