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
  /** Inputs with `floats` per item (each thread gets its items' share). */
  perItem: Region[];
  /** Inputs every thread reads whole (`floats` in all): weights, a staged B, a bias. */
  whole: Region[];
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
   * `perItem` input, to each `whole` input and to the output.
   */
  args(
    p: { perItem: number[]; whole: number[]; out: number; outs: number[]; scratch: number },
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
    run(
      ...call.args(
        {
          perItem: call.perItem.map((r) => r.ptr),
          whole: call.whole.map((r) => r.ptr),
          out: call.out.ptr,
          outs: (call.outs ?? []).map((r) => r.ptr),
          scratch: call.scratch?.ptr ?? 0,
        },
        call.items,
      ),
    );
    return false;
  }
  splitAcross(threads, simd, call, parts, run);
  splitCount++;
  return true;
}

function splitAcross(
  threads: KernelThreads,
  simd: SimdKernels,
  call: SplitCall,
  parts: number,
  run: (...a: number[]) => void,
): void {
  const bounds = Array.from({ length: parts + 1 }, (_, k) => Math.floor((k * call.items) / parts));
  // Shared-memory layout: the whole inputs once, then per helper its items' inputs and output.
  let offset = 64;
  // 64 bytes after each region: kernels may read a vector past their input (see
  // lenet_conv_filter_grad), never past that.
  const place = (floats: number) => {
    const at = offset;
    offset += Math.ceil((floats * 4) / 16) * 16 + 64;
    return at;
  };
  const wholeAt = call.whole.map((r) => place(r.floats));
  const helperAt = Array.from({ length: parts - 1 }, (_, h) => {
    const count = bounds[h + 2] - bounds[h + 1];
    return {
      perItem: call.perItem.map((r) => place(r.floats * count)),
      out: place(call.out.sum ? call.out.floats : call.out.floats * count),
      outs: (call.outs ?? []).map((r) => place(r.floats * count)),
      scratch: call.scratch ? place(call.scratch.floats) : 0,
      count,
      first: bounds[h + 1],
    };
  });
  threads.reserve(offset);
  copiedFloats += call.whole.reduce((sum, r) => sum + r.floats * (parts - 1), 0);
  copiedFloats += helperAt.reduce(
    (sum, h) =>
      sum +
      call.perItem.reduce((f, r) => f + r.floats * h.count, 0) +
      (call.out.sum ? call.out.floats : call.out.floats * h.count) +
      (call.outs ?? []).reduce((f, r) => f + r.floats * h.count, 0),
    0,
  );
  const shared = threads.view();
  const tfjs = simd.heap();
  call.whole.forEach((r, i) => {
    shared.set(tfjs.subarray(r.ptr / 4, r.ptr / 4 + r.floats), wholeAt[i] / 4);
  });
  helperAt.forEach((h, k) => {
    call.perItem.forEach((r, i) => {
      const from = r.ptr / 4 + h.first * r.floats;
      shared.set(tfjs.subarray(from, from + h.count * r.floats), h.perItem[i] / 4);
    });
    threads.run(
      k,
      call.fn,
      call.args(
        { perItem: h.perItem, whole: wholeAt, out: h.out, outs: h.outs, scratch: h.scratch },
        h.count,
      ),
    );
  });
  let failure: unknown = null;
  try {
    run(
      ...call.args(
        {
          perItem: call.perItem.map((r) => r.ptr),
          whole: call.whole.map((r) => r.ptr),
          out: call.out.ptr,
          outs: (call.outs ?? []).map((r) => r.ptr),
          scratch: call.scratch?.ptr ?? 0,
        },
        bounds[1],
      ),
    );
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
