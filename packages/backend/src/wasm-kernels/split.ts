import { type KernelThreads, kernelThreads } from './kernel-threads.js';
import type { SimdExports, SimdKernels } from './simd.js';

/** Work (multiply-adds) below which a kernel call stays on one thread: the copies would not pay. */
export const SPLIT_MIN_MACS = 1_500_000;

let splitCount = 0;
let copiedFloats = 0;

/** Kernel calls split between threads so far (for tests). */
export function splitCalls(): number {
  return splitCount;
}

/** Floats copied to and from the helpers' shared memory so far (for profiling the splits). */
export function splitCopiedFloats(): number {
  return copiedFloats;
}

/** A region of tfjs's wasm memory: byte offset of item 0 and floats per item (or in all). */
export interface Region {
  ptr: number;
  floats: number;
}

/** One kernel call split over items (images or matrix rows) between the threads. */
export interface SplitCall {
  fn: keyof SimdExports;
  /** Multiply-adds of the whole call: below `minMacs` (default {@link SPLIT_MIN_MACS}) it is not split. */
  macs: number;
  minMacs?: number;
  /** Items to split. */
  items: number;
  /**
   * Inputs with `floats` per item (each thread gets its items' share). With `rows`, an input is
   * `rows.count` rows `rows.stride` floats apart, each holding `floats` per item (the items are
   * columns: a transposed operand); a helper gets its items' columns as rows of their own.
   */
  perItem: (Region & { rows?: { count: number; stride: number } })[];
  /**
   * Inputs every thread reads whole (`floats` in all): weights, a staged B, a bias. One with
   * `resident` stays in the helpers' memory from call to call, copied again only when its owner
   * gives a new version (weights that have not changed since the last call).
   */
  whole: (Region & { resident?: { owner: object; version: number } })[];
  /**
   * The output: per item (each thread writes its items'), or, with `sum`, one output of
   * `floats` that every thread computes a partial sum of, added up at the end.
   */
  out: Region & { sum?: boolean };
  /** More outputs per item (not `sum`), each thread writing its items' share as of `out`. */
  outs?: Region[];
  /** Working memory each thread needs (`floats` each; `ptr` is the calling thread's), or none. */
  scratch?: Region;
  /**
   * Arguments of `fn` for `count` items, given pointers to those items' share of each
   * `perItem` input (and, in `strides`, the floats between its rows: `rows.stride` in place, the
   * share's width in a helper's copy; `floats` for an input without rows), to each `whole` input
   * and to the output.
   */
  args(
    p: {
      /** The share's first item (0 on the calling thread). */
      first: number;
      perItem: number[];
      strides: number[];
      whole: number[];
      out: number;
      outs: number[];
      scratch: number;
    },
    count: number,
  ): number[];
}

/**
 * Runs `call` split between the calling thread (items from 0, in tfjs's memory) and the helper
 * threads (their items copied into the shared memory, results copied back), when helpers run
 * and there are enough items; otherwise on this thread alone. Returns whether it was split.
 */
export function runSplit(simd: SimdKernels, call: SplitCall): boolean {
  const threads = kernelThreads();
  const parts = (threads?.count ?? 0) + 1;
  const run = simd.fn[call.fn] as (...a: number[]) => void;
  if (threads === undefined || call.items < parts || call.macs < (call.minMacs ?? SPLIT_MIN_MACS)) {
    run(...call.args(inPlace(call), call.items));
    return false;
  }
  splitAcross(threads, simd, call, parts, run);
  splitCount++;
  return true;
}

/** The arguments' pointers for the calling thread: the call's own regions in tfjs's memory. */
function inPlace(call: SplitCall): Parameters<SplitCall['args']>[0] {
  return {
    first: 0,
    perItem: call.perItem.map((r) => r.ptr),
    strides: call.perItem.map((r) => r.rows?.stride ?? r.floats),
    whole: call.whole.map((r) => r.ptr),
    out: call.out.ptr,
    outs: (call.outs ?? []).map((r) => r.ptr),
    scratch: call.scratch?.ptr ?? 0,
  };
}

function splitAcross(
  threads: KernelThreads,
  simd: SimdKernels,
  call: SplitCall,
  parts: number,
  run: (...a: number[]) => void,
): void {
  const bounds = Array.from({ length: parts + 1 }, (_, k) => Math.floor((k * call.items) / parts));
  // Shared-memory layout: the resident blocks, the other whole inputs once, then per helper its
  // items' inputs and output. Resident blocks first: a new one moves where the call's regions start.
  const tfjs = simd.heap();
  const residentAt = call.whole.map((r) =>
    r.resident === undefined
      ? 0
      : threads.resident(r.resident.owner, r.resident.version, r.floats, (view, at) => {
          view.set(tfjs.subarray(r.ptr / 4, r.ptr / 4 + r.floats), at / 4);
          copiedFloats += r.floats;
        }),
  );
  let offset = threads.callStart;
  // 64 bytes after each region: kernels may read a vector past their input (see
  // lenet_conv_filter_grad), never past that.
  const place = (floats: number) => {
    const at = offset;
    offset += Math.ceil((floats * 4) / 16) * 16 + 64;
    return at;
  };
  const wholeAt = call.whole.map((r, i) => (r.resident === undefined ? place(r.floats) : residentAt[i]));
  const helperAt = Array.from({ length: parts - 1 }, (_, h) => {
    const count = bounds[h + 2] - bounds[h + 1];
    return {
      perItem: call.perItem.map((r) => place(r.floats * count * (r.rows?.count ?? 1))),
      out: place(call.out.sum ? call.out.floats : call.out.floats * count),
      outs: (call.outs ?? []).map((r) => place(r.floats * count)),
      scratch: call.scratch ? place(call.scratch.floats) : 0,
      count,
      first: bounds[h + 1],
    };
  });
  threads.reserve(offset);
  copiedFloats += call.whole.reduce((sum, r) => sum + (r.resident ? 0 : r.floats * (parts - 1)), 0);
  copiedFloats += helperAt.reduce(
    (sum, h) =>
      sum +
      call.perItem.reduce((f, r) => f + r.floats * h.count * (r.rows?.count ?? 1), 0) +
      (call.out.sum ? call.out.floats : call.out.floats * h.count) +
      (call.outs ?? []).reduce((f, r) => f + r.floats * h.count, 0),
    0,
  );
  const shared = threads.view();
  call.whole.forEach((r, i) => {
    if (r.resident !== undefined) return;
    shared.set(tfjs.subarray(r.ptr / 4, r.ptr / 4 + r.floats), wholeAt[i] / 4);
  });
  helperAt.forEach((h, k) => {
    call.perItem.forEach((r, i) => {
      const from = r.ptr / 4 + h.first * r.floats;
      const width = h.count * r.floats;
      if (r.rows === undefined) {
        shared.set(tfjs.subarray(from, from + width), h.perItem[i] / 4);
        return;
      }
      for (let row = 0; row < r.rows.count; row++) {
        const at = from + row * r.rows.stride;
        shared.set(tfjs.subarray(at, at + width), h.perItem[i] / 4 + row * width);
      }
    });
    threads.run(
      k,
      call.fn,
      call.args(
        {
          first: h.first,
          perItem: h.perItem,
          strides: call.perItem.map((r) => (r.rows ? h.count * r.floats : r.floats)),
          whole: wholeAt,
          out: h.out,
          outs: h.outs,
          scratch: h.scratch,
        },
        h.count,
      ),
    );
  });
  let failure: unknown = null;
  try {
    run(...call.args(inPlace(call), bounds[1]));
  } catch (error) {
    failure = error;
  }
  helperAt.forEach((_, k) => {
    try {
      threads.wait(k);
    } catch (error) {
      failure ??= error;
    }
  });
  if (failure !== null) throw failure;
  const mem = simd.heap();
  const view = threads.view();
  for (const h of helperAt) {
    if (call.out.sum) {
      const base = call.out.ptr / 4;
      const src = h.out / 4;
      for (let i = 0; i < call.out.floats; i++) mem[base + i] += view[src + i];
    } else {
      mem.set(
        view.subarray(h.out / 4, h.out / 4 + h.count * call.out.floats),
        call.out.ptr / 4 + h.first * call.out.floats,
      );
    }
    (call.outs ?? []).forEach((r, i) => {
      const at = h.outs[i] / 4;
      mem.set(view.subarray(at, at + h.count * r.floats), r.ptr / 4 + h.first * r.floats);
    });
  }
}
