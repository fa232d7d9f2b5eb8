import { afterEach, describe, expect, it } from 'vitest';
import { nonFiniteIndex, setFiniteScanSimdEnabled } from './finite.js';
import { SCAN_CHUNK, simdFiniteScan } from './finite-wasm.js';

describe('nonFiniteIndex on large float32 arrays (the WebAssembly SIMD scan)', () => {
  afterEach(() => setFiniteScanSimdEnabled(true));

  it('has the SIMD scan on this Node', () => {
    expect(simdFiniteScan()).not.toBeNull();
  });

  it('finds the first NaN or infinity at block, chunk and tail edges, as the JS scan does', () => {
    const bads = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY];
    for (const length of [1024, 1024 + 7, SCAN_CHUNK + 17, 256 * 784]) {
      const x = new Float32Array(length).map((_, i) => Math.sin(i) * 1e3);
      const positions = [0, 3, 15, 16, 63, 64, length - 8, length - 1];
      if (length > SCAN_CHUNK) positions.push(SCAN_CHUNK - 1, SCAN_CHUNK, SCAN_CHUNK + 15);
      for (const at of positions) {
        for (const bad of bads) {
          x[at] = bad;
          expect(nonFiniteIndex(x), `${bad} at ${at} of ${length}`).toBe(at);
          setFiniteScanSimdEnabled(false);
          expect(nonFiniteIndex(x)).toBe(at);
          setFiniteScanSimdEnabled(true);
          x[at] = 0.5;
        }
      }
      expect(nonFiniteIndex(x)).toBe(-1);
    }
  });

  it('gives the first of several, in a later chunk too', () => {
    const x = new Float32Array(3 * SCAN_CHUNK).fill(1);
    x[2 * SCAN_CHUNK + 5] = Number.NaN;
    x[2 * SCAN_CHUNK + 900] = Number.POSITIVE_INFINITY;
    expect(nonFiniteIndex(x)).toBe(2 * SCAN_CHUNK + 5);
    x[SCAN_CHUNK + 1] = Number.NEGATIVE_INFINITY;
    expect(nonFiniteIndex(x)).toBe(SCAN_CHUNK + 1);
  });

  it('is -1 for negative zero, the largest and the smallest floats', () => {
    const x = new Float32Array(4096);
    x.set([-0, 3.4028234e38, -3.4028234e38, 1e-45, -1e-45, 1.17549435e-38], 100);
    expect(nonFiniteIndex(x)).toBe(-1);
    // NaNs of every payload and sign are exponents of all ones too.
    const bits = new Uint32Array(x.buffer);
    for (const pattern of [0x7fc00000, 0xffc00000, 0x7f800001, 0xffffffff]) {
      bits[2000] = pattern;
      expect(nonFiniteIndex(x), pattern.toString(16)).toBe(2000);
    }
  });

  it('reads a view at any offset of its buffer, and only the view', () => {
    const buffer = new Float32Array(5000).fill(2);
    buffer[3] = Number.NaN;
    buffer[4998] = Number.NaN;
    expect(nonFiniteIndex(buffer.subarray(5, 4997))).toBe(-1);
    expect(nonFiniteIndex(buffer.subarray(1, 4999))).toBe(2);
    buffer[2001] = Number.POSITIVE_INFINITY;
    expect(nonFiniteIndex(buffer.subarray(5, 4997))).toBe(1996);
  });
});
