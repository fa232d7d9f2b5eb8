import { afterEach, describe, expect, it } from 'vitest';
import { poolKeepsArgmax, setPoolArgmaxMinFloats, setPoolArgmaxWideEnabled } from './pool-util.js';

describe("the compiled step's choice of keeping the max pooling's argmax", () => {
  afterEach(() => setPoolArgmaxWideEnabled(true));

  it('keeps it from 32 channels at any size (the Keras nets at batch 64), by size below that', () => {
    // keras-baseline b64's second pooling: 64×14×14×64 floats, under the 2 M size threshold.
    expect(poolKeepsArgmax(64 * 14 * 14 * 64, 64)).toBe(true);
    expect(poolKeepsArgmax(4 * 4 * 32, 32)).toBe(true);
    expect(poolKeepsArgmax(64 * 10 * 10 * 16, 16)).toBe(false);
    expect(poolKeepsArgmax(256 * 10 * 10 * 16 * 20, 16)).toBe(true);
    setPoolArgmaxWideEnabled(false);
    expect(poolKeepsArgmax(64 * 14 * 14 * 64, 64)).toBe(false);
    expect(poolKeepsArgmax(256 * 28 * 28 * 32, 32)).toBe(true);
  });

  it('never keeps it when the size threshold says never, nor below 4 channels', () => {
    const previous = setPoolArgmaxMinFloats(Number.POSITIVE_INFINITY);
    try {
      expect(poolKeepsArgmax(256 * 28 * 28 * 64, 64)).toBe(false);
    } finally {
      setPoolArgmaxMinFloats(previous);
    }
    expect(poolKeepsArgmax(1e8, 3)).toBe(false);
  });
});
