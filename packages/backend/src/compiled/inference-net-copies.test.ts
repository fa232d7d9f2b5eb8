import { beforeAll, describe, expect, it } from 'vitest';
import { splitChainCase } from '../testing/split-chain.js';
import { useBackend } from '../use-backend.js';
import { setSharedTfjsHeapEnabled } from '../wasm-kernels/shared-heap.js';

// This file's process starts the wasm backend on an unshared heap (as a runtime without shared
// memory, or LENET_SHARED_HEAP=0, does): the helpers then run on copies in a memory of their own.
beforeAll(async () => {
  setSharedTfjsHeapEnabled(false);
  await useBackend('wasm');
});

describe('compileInferenceNet over helper threads on an unshared heap', () => {
  it("leaves each conv's output in the helpers for the next conv: the probabilities bit for bit, fewer floats copied", async () => {
    const got = await splitChainCase();
    expect(got.shared).toBe(false);
    const { off, on, one } = got;
    expect(off.calls).toBeGreaterThanOrEqual(3);
    expect(on.calls).toBe(off.calls);
    expect(on.p).toEqual(off.p);
    expect(on.p).toEqual(one);
    expect(Number.isNaN(on.p[0])).toBe(true);
    expect(Number.isNaN(on.p[10])).toBe(false);
    // The helper's shares of conv 1's and conv 2's outputs stay: 9·16·16·32 + 9·8·8·32 floats
    // out, as many in.
    expect(off.copied - on.copied).toBe(2 * (9 * 16 * 16 * 32 + 9 * 8 * 8 * 32));
    expect(got.later.on).toEqual(got.later.off);
  });
});
