import { describe, expect, it } from 'vitest';
import { applyTransform, sampleTransform } from './augment.js';
import { batchBuffers, batchCount, batchCursor, batches, normalizationTable } from './batches.js';
import { createRng } from './random.js';
import { syntheticDataset } from './testing/synthetic.js';
import type { Batch } from './types.js';

/** Recovers each sample's index from its first pixel: pixel (0,0,0) of sample i is 3i % 256. */
function sampleIds(ds: ReturnType<typeof syntheticDataset>, opts: Parameters<typeof batches>[1]): number[] {
  const ids: number[] = [];
  const S = ds.height * ds.width * ds.channels;
  for (const b of batches(ds, opts)) {
    for (let i = 0; i < b.y.length; i++) ids.push(Math.round(b.x[i * S] * 255) / 3);
  }
  return ids;
}

describe('batches', () => {
  const ds = syntheticDataset(50, 4, 5, 3);

  it('yields ceil(n / batchSize) batches of the right shapes and labels in order', () => {
    const all = [...batches(ds, { batchSize: 16 })];
    expect(all).toHaveLength(4);
    expect(batchCount(ds, { batchSize: 16 })).toBe(4);
    expect(all.map((b) => b.shape)).toEqual([
      [16, 4, 5, 3],
      [16, 4, 5, 3],
      [16, 4, 5, 3],
      [2, 4, 5, 3],
    ]);
    expect(all[3].x.length).toBe(2 * 60);
    expect(all[0].y).toBeInstanceOf(Int32Array);
    expect(Array.from(all[3].y)).toEqual([48 % 3, 49 % 3]);
    expect(all[0].x[0]).toBe(0);
    expect(all[0].x[1]).toBeCloseTo(50 / 255, 7);
    expect(all[1].x[0]).toBeCloseTo((16 * 3) / 255, 7);
  });

  it('drops the last incomplete batch with dropLast', () => {
    const all = [...batches(ds, { batchSize: 16, dropLast: true })];
    expect(all).toHaveLength(3);
    expect(batchCount(50, { batchSize: 16, dropLast: true })).toBe(3);
    expect(batchCount(48, { batchSize: 16, dropLast: false })).toBe(3);
    expect(() => batchCount(ds, { batchSize: 0 })).toThrow(/batchSize must be a positive integer/);
  });

  it('visits every sample exactly once per epoch when shuffled', () => {
    const ids = sampleIds(ds, { batchSize: 7, shuffle: true, seed: 42 });
    expect(ids).toHaveLength(50);
    expect([...ids].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(ids).not.toEqual(Array.from({ length: 50 }, (_, i) => i));
  });

  it('gives the same order for the same seed and epoch, a different one otherwise', () => {
    const a = sampleIds(ds, { batchSize: 8, shuffle: true, seed: 7 });
    const b = sampleIds(ds, { batchSize: 8, shuffle: true, seed: 7 });
    const c = sampleIds(ds, { batchSize: 8, shuffle: true, seed: 8 });
    const d = sampleIds(ds, { batchSize: 8, shuffle: true, seed: 7, epoch: 1 });
    expect(a).toEqual(b);
    expect(c).not.toEqual(a);
    expect(d).not.toEqual(a);
    // Labels travel with their samples.
    for (const batch of batches(ds, { batchSize: 8, shuffle: true, seed: 7 })) {
      for (let i = 0; i < batch.y.length; i++) {
        const id = Math.round(batch.x[i * 60] * 255) / 3;
        expect(batch.y[i]).toBe(id % 3);
      }
    }
  });

  it('agrees between NCHW and NHWC', () => {
    const opts = {
      batchSize: 9,
      shuffle: true,
      seed: 3,
      normalize: { mean: [0.1, 0.2, 0.3], std: [0.5, 0.25, 2] },
    };
    const nhwc = [...batches(ds, { ...opts, layout: 'NHWC' })];
    const nchw = [...batches(ds, { ...opts, layout: 'NCHW' })];
    expect(nchw[0].shape).toEqual([9, 3, 4, 5]);
    expect(nhwc.length).toBe(nchw.length);
    for (let b = 0; b < nhwc.length; b++) {
      expect(Array.from(nchw[b].y)).toEqual(Array.from(nhwc[b].y));
      const n = nhwc[b].y.length;
      for (let i = 0; i < n; i++) {
        for (let y = 0; y < 4; y++) {
          for (let x = 0; x < 5; x++) {
            for (let c = 0; c < 3; c++) {
              expect(nchw[b].x[((i * 3 + c) * 4 + y) * 5 + x]).toBe(nhwc[b].x[((i * 4 + y) * 5 + x) * 3 + c]);
            }
          }
        }
      }
    }
  });

  it('normalises per channel like torchvision Normalize after ToTensor', () => {
    const [b] = batches(ds, { batchSize: 1, normalize: { mean: [0.1, 0.2, 0.3], std: [0.5, 0.25, 2] } });
    // Sample 0, pixel (0,0): channel values 0, 50, 100.
    expect(b.x[0]).toBeCloseTo((0 - 0.1) / 0.5, 6);
    expect(b.x[1]).toBeCloseTo((50 / 255 - 0.2) / 0.25, 6);
    expect(b.x[2]).toBeCloseTo((100 / 255 - 0.3) / 2, 6);
    const grey = syntheticDataset(2, 2, 2, 1);
    const [g] = batches(grey, { batchSize: 2, normalize: { mean: [0.1307], std: [0.3081] } });
    expect(g.x[3]).toBeCloseTo((3 / 255 - 0.1307) / 0.3081, 6);
    expect(() => normalizationTable(3, { mean: [0, 0], std: [1] })).toThrow(
      /normalize.mean has 2 values, expected 1 or 3/,
    );
    expect(() => normalizationTable(1, { mean: [0], std: [0] })).toThrow(/normalize.std must be > 0/);
  });

  it('allocates fresh buffers for every batch', () => {
    const all = [...batches(ds, { batchSize: 10 })];
    expect(all[0].x.buffer).not.toBe(all[1].x.buffer);
    expect(all[0].x[0]).toBe(0);
  });

  it('with reuseBuffers writes every batch into the same buffers, with the same values as fresh ones', () => {
    const opts = { batchSize: 16, shuffle: true, seed: 3, epoch: 1, augment: { crop: { padding: 1 } } };
    const fresh = [...batches(ds, opts)].map((b) => ({ x: [...b.x], y: [...b.y], shape: b.shape }));
    const buffers = new Set<ArrayBufferLike>();
    let i = 0;
    for (const b of batches(ds, { ...opts, reuseBuffers: true })) {
      buffers.add(b.x.buffer);
      buffers.add(b.y.buffer);
      expect([...b.x]).toEqual(fresh[i].x);
      expect([...b.y]).toEqual(fresh[i].y);
      expect(b.shape).toEqual(fresh[i].shape);
      i++;
    }
    // 50 samples in batches of 16: the last batch (2 samples) is a view of the start of the buffers.
    expect(i).toBe(4);
    expect(fresh[3].y).toHaveLength(2);
    expect(buffers.size).toBe(2);
    expect(() => batches(ds, { batchSize: 4, reuseBuffers: 1 as unknown as boolean }).next()).toThrow(
      /reuseBuffers/,
    );
  });

  it('with a BatchBuffers keeps the same memory from pass to pass, growing it for bigger batches', () => {
    const kept = batchBuffers();
    const opts = { batchSize: 16, shuffle: true, seed: 3 };
    const seen = new Set<ArrayBufferLike>();
    for (const epoch of [0, 1, 2]) {
      const fresh = [...batches(ds, { ...opts, epoch })].map((b) => [...b.x]);
      const cursor = batchCursor(ds, { ...opts, epoch, reuseBuffers: kept });
      for (let i = 0, b = cursor.next(); b !== undefined; b = cursor.next(), i++) {
        seen.add(b.x.buffer);
        expect([...b.x]).toEqual(fresh[i]);
      }
    }
    // Two slots (the batch drawn and the one written ahead) served all three epochs.
    expect(seen.size).toBe(2);
    // A pass with bigger batches grows the slots; the values are still those of fresh buffers.
    const big = Array.from(batches(ds, { batchSize: 40, reuseBuffers: kept }), (b) => [...b.x]);
    expect(big).toEqual([...batches(ds, { batchSize: 40 })].map((b) => [...b.x]));
    expect(() => batches(ds, { batchSize: 4, reuseBuffers: {} as never }).next()).toThrow(
      /reuseBuffers must be true, false or the result of batchBuffers\(\), got/,
    );
  });

  it('writes one-channel images by pixel pairs exactly as pixel by pixel, aligned or not', () => {
    // 28x28x1: a sample of 784 bytes, whole 4-pixel words, the pair path; the same images one byte
    // into a buffer cannot be read as words and take the pixel-by-pixel path.
    const mono = syntheticDataset(9, 28, 28, 1);
    const shifted = new Uint8Array(mono.images.length + 1);
    shifted.set(mono.images, 1);
    const unaligned = { ...mono, images: shifted.subarray(1) };
    for (const normalize of ['unit', { mean: [0.1307], std: [0.3081] }] as const) {
      const lut = normalizationTable(1, normalize);
      const want = Array.from(mono.images, (v) => lut[v]);
      for (const source of [mono, unaligned]) {
        for (const reuseBuffers of [false, true]) {
          const got = Array.from(batches(source, { batchSize: 4, normalize, reuseBuffers }), (b) => [
            ...b.x,
          ]).flat();
          expect(got).toEqual(want);
        }
      }
    }
  });

  it("batchCursor gives batches()'s batches however far it writes ahead, and never into the batch drawn", () => {
    const opts = {
      batchSize: 16,
      shuffle: true,
      seed: 3,
      epoch: 1,
      augment: { crop: { padding: 1 }, flip: true },
    };
    const fresh = [...batches(ds, opts)].map((b) => ({ x: [...b.x], y: [...b.y], shape: b.shape }));
    // Samples written ahead before each draw: none, part of a batch, all of it (and more asked).
    for (const ahead of [
      [0, 0, 0, 0],
      [5, 16, 1, 0],
      [99, 99, 99, 99],
    ]) {
      for (const reuseBuffers of [false, true]) {
        const cursor = batchCursor(ds, { ...opts, reuseBuffers });
        expect(cursor.count).toBe(4);
        const got: { x: number[]; y: number[]; shape: number[] }[] = [];
        let last: Batch | undefined;
        for (let i = 0; ; i++) {
          for (let k = 0; k < ahead[i % 4]; k++) {
            if (!cursor.writeAhead()) break;
            // The batch drawn last stays as it was while the next is written.
            if (last) expect([...last.x]).toEqual(fresh[i - 1].x);
          }
          const b = cursor.next();
          if (b === undefined) break;
          got.push({ x: [...b.x], y: [...b.y], shape: b.shape });
          last = b;
        }
        expect(got).toEqual(fresh);
        expect(cursor.writeAhead()).toBe(false);
      }
    }
  });

  it('augments reproducibly: same seed same pixels, flip and shift as drawn', () => {
    const augment = { crop: { padding: 2 }, flip: true, translate: 0.2 };
    const a = [...batches(ds, { batchSize: 50, seed: 5, augment })][0];
    const b = [...batches(ds, { batchSize: 50, seed: 5, augment })][0];
    const c = [...batches(ds, { batchSize: 50, seed: 6, augment })][0];
    expect(Array.from(a.x)).toEqual(Array.from(b.x));
    expect(Array.from(a.x)).not.toEqual(Array.from(c.x));
    // Augmentation changes pixels, never labels.
    const plain = [...batches(ds, { batchSize: 50, seed: 5 })][0];
    expect(Array.from(a.x)).not.toEqual(Array.from(plain.x));
    expect(Array.from(a.y)).toEqual(Array.from(plain.y));
  });

  for (const layout of ['NHWC', 'NCHW'] as const) {
    it(`fused augmentation matches applyTransform on the uint8 image (${layout}, mean/std)`, () => {
      const augment = { crop: { padding: 1 }, flip: true, seed: 99 };
      const normalize = { mean: [0.5, 0.4, 0.3], std: [0.2, 0.3, 0.4] };
      const [batch] = batches(ds, { batchSize: 50, layout, augment, normalize });
      const lut = normalizationTable(3, normalize);
      const at = (i: number, p: number, k: number) =>
        batch.x[layout === 'NHWC' ? i * 60 + p * 3 + k : i * 60 + k * 20 + p];
      // Every output sample must equal applyTransform of its input for one of the 18 possible draws,
      // and across the batch several different draws must occur.
      const draws = new Set<string>();
      for (let i = 0; i < 50; i++) {
        const img = ds.images.subarray(i * 60, (i + 1) * 60);
        let found: string | undefined;
        for (const flip of [false, true]) {
          for (let dy = -1; dy <= 1; dy++) {
            for (let dx = -1; dx <= 1; dx++) {
              const ref = applyTransform(img, 4, 5, 3, { dx, dy, flip });
              let same = true;
              for (let p = 0; p < 20 && same; p++) {
                for (let k = 0; k < 3; k++) if (at(i, p, k) !== lut[k * 256 + ref[p * 3 + k]]) same = false;
              }
              if (same && found === undefined) found = `${dx},${dy},${flip}`;
            }
          }
        }
        expect(found).toBeDefined();
        draws.add(found!);
      }
      expect(draws.size).toBeGreaterThan(8);
    });
  }
});

describe('augmentation primitives', () => {
  it('applyTransform shifts with zero fill and mirrors', () => {
    // 2×3 single-channel image: rows [1 2 3] [4 5 6].
    const img = Uint8Array.of(1, 2, 3, 4, 5, 6);
    expect(Array.from(applyTransform(img, 2, 3, 1, { dx: 1, dy: 0, flip: false }))).toEqual([
      0, 1, 2, 0, 4, 5,
    ]);
    expect(Array.from(applyTransform(img, 2, 3, 1, { dx: 0, dy: -1, flip: false }))).toEqual([
      4, 5, 6, 0, 0, 0,
    ]);
    expect(Array.from(applyTransform(img, 2, 3, 1, { dx: 0, dy: 0, flip: true }))).toEqual([
      3, 2, 1, 6, 5, 4,
    ]);
    expect(Array.from(applyTransform(img, 2, 3, 1, { dx: 1, dy: 0, flip: true }))).toEqual([
      0, 3, 2, 0, 6, 5,
    ]);
  });

  it('sampleTransform stays within the padding and translation bounds and flips about half the time', () => {
    const rng = createRng(1);
    let flips = 0;
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) {
      const t = sampleTransform(rng, { crop: { padding: 4 }, flip: true }, 32, 32);
      expect(Math.abs(t.dx)).toBeLessThanOrEqual(4);
      expect(Math.abs(t.dy)).toBeLessThanOrEqual(4);
      seen.add(t.dx);
      if (t.flip) flips++;
    }
    expect(seen.size).toBe(9);
    expect(flips).toBeGreaterThan(900);
    expect(flips).toBeLessThan(1100);
    for (let i = 0; i < 500; i++) {
      const t = sampleTransform(rng, { translate: 0.1 }, 28, 28);
      expect(Math.abs(t.dx)).toBeLessThanOrEqual(3);
      expect(t.flip).toBe(false);
    }
    expect(() => [
      ...batches(syntheticDataset(2, 2, 2, 1), { batchSize: 1, augment: { translate: 1.5 } }),
    ]).toThrow(/augment.translate must be a fraction in \[0, 1\)/);
  });
});
