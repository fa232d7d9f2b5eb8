import { type KernelThreads, kernelThreads } from './kernel-threads.js';
import type { SimdExports, SimdKernels } from './simd.js';

/** Work (multiply-adds) below which a kernel call stays on one thread: the copies would not pay. */
export const SPLIT_MIN_MACS = 1_500_000;

/**
 * Values below which an in-place pass without multiply-add loops (batch norm's) stays on one
 * thread: a pass over 1 MB takes ~0.1 ms, a split call's hand-over some µs.
 */
export const SPLIT_MIN_PASS_FLOATS = 262_144;

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
   * `floats` that every thread computes a partial sum of, added up at the end. With `keep` (per
   * item, no `outs`) and {@link keepingSplitOutputs} on, the helpers' shares stay in the shared
   * memory until a split call reads them as its first per-item input or {@link flushSplitOutput}
   * copies them back (see there).
   */
  out: Region & { sum?: boolean; keep?: boolean };
  /** More outputs per item (not `sum`), each thread writing its items' share as of `out`. */
  outs?: Region[];
  /** Working memory each thread needs (`floats` each; `ptr` is the calling thread's), or none. */
  scratch?: Region;
  /**
   * Split only where the helpers run on tfjs's heap in place (otherwise one thread runs it all):
   * for passes whose copies would cost what the split saves. Its `args` may then place any buffer
   * of its own by `first` (every thread's pointers are tfjs's).
   */
  inPlaceOnly?: boolean;
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
 * A split call's output whose helpers' shares are still in the shared memory only (their items
 * of `ptr` in tfjs's memory are stale): where each helper's share is, and the byte range they span.
 */
interface KeptOutput {
  threads: KernelThreads;
  ptr: number;
  floats: number;
  bounds: number[];
  at: number[];
  start: number;
  end: number;
}

let chainOn = globalThis.process?.env?.LENET_INFER_SPLIT_CHAIN !== '0';

/**
 * Turns on or off (for A/B measurements) the compiled inference pass leaving a convolution's
 * output in the helper threads' memory for the next convolution split the same way (see
 * `keepSplitOutputs`; off: every split output is copied back and the next call's share
 * copied in again). Read at each call. `LENET_INFER_SPLIT_CHAIN=0` starts with it off.
 */
export function setSplitChainEnabled(on: boolean): void {
  chainOn = on;
}

/** Whether {@link setSplitChainEnabled} (or `LENET_INFER_SPLIT_CHAIN`) leaves it on. */
export function splitChainEnabled(): boolean {
  return chainOn;
}

let kept: KeptOutput | null = null;
let keeping = false;

/**
 * Lets (on) or stops the next split calls whose output has `keep` leaving their helpers' shares
 * in the shared memory (see {@link flushSplitOutput}). The compiled inference pass turns it on
 * around a stage whose output the next stage's split kernel reads image by image with the same
 * shares: a chain of convolutions then copies only its first input in and its last output back,
 * not every activation out and in again.
 */
export function keepSplitOutputs(on: boolean): void {
  keeping = on;
}

/** Whether {@link keepSplitOutputs} is on. */
export function keepingSplitOutputs(): boolean {
  return keeping;
}

/**
 * Copies a kept output's helper shares back into tfjs's memory (none kept: nothing). Whoever
 * turned {@link keepSplitOutputs} on calls it before anything but a split call reads that output.
 * A split call that does not read it as its first per-item input calls it first itself.
 */
export function flushSplitOutput(simd: SimdKernels): void {
  if (kept === null) return;
  const k = kept;
  kept = null;
  const mem = simd.heap();
  const view = k.threads.view();
  k.at.forEach((at, h) => {
    const first = k.bounds[h + 1];
    const floats = (k.bounds[h + 2] - first) * k.floats;
    mem.set(view.subarray(at / 4, at / 4 + floats), k.ptr / 4 + first * k.floats);
    copiedFloats += floats;
  });
}

/**
 * Runs `call` split between the calling thread (items from 0, in tfjs's memory) and the helper
 * threads, when helpers run and there are enough items; otherwise on this thread alone. Returns
 * whether it was split. Where tfjs's heap is shared (shared-heap.ts) the helpers run their items
 * in place; otherwise their items are copied into the threads' shared memory and results back.
 */
export function runSplit(simd: SimdKernels, call: SplitCall): boolean {
  const threads = kernelThreads();
  const parts = (threads?.count ?? 0) + 1;
  const run = simd.fn[call.fn] as (...a: number[]) => void;
  if (
    threads === undefined ||
    call.items < parts ||
    call.macs < (call.minMacs ?? SPLIT_MIN_MACS) ||
    (call.inPlaceOnly === true && !simd.shared)
  ) {
    flushSplitOutput(simd);
    run(...call.args(inPlace(call), call.items));
    return false;
  }
  // Items [bounds[k], bounds[k + 1]) go to thread k (0: the calling thread), on either path.
  const bounds = Array.from({ length: parts + 1 }, (_, k) => Math.floor((k * call.items) / parts));
  if (simd.shared) {
    flushSplitOutput(simd);
    splitInPlace(threads, simd, call, bounds, run);
  } else {
    if (kept !== null && !reads(kept, threads, call)) flushSplitOutput(simd);
    splitAcross(threads, simd, call, bounds, run);
  }
  splitCount++;
  return true;
}

/**
 * Runs the calling thread's share, then waits for each of `helpers` helpers to finish theirs (all
 * of them, also when a share fails, so that no helper stays busy); throws the first failure. With
 * `share` (in place, where every thread's pointers are the same), a helper's share it has not
 * started yet is taken back and run here: it would finish later than this thread can.
 */
function runOwnShare(
  threads: KernelThreads,
  helpers: number,
  own: () => void,
  share?: (k: number) => void,
): void {
  let failure: unknown = null;
  try {
    own();
  } catch (error) {
    failure = error;
  }
  for (let k = 0; k < helpers; k++) {
    try {
      if (share !== undefined && threads.takeBack(k)) {
        if (failure === null) share(k);
      } else {
        threads.wait(k);
      }
    } catch (error) {
      failure ??= error;
    }
  }
  if (failure !== null) throw failure;
}

/** Per tfjs heap: a block for the helpers' scratch and partial sums in place, grown as calls need. */
const inPlaceBlocks = new WeakMap<SimdKernels, { ptr: number; bytes: number }>();

/** Byte offset of at least `bytes` bytes of `simd`'s heap kept for the helpers' regions. */
function inPlaceBlock(simd: SimdKernels, bytes: number): number {
  const block = inPlaceBlocks.get(simd);
  if (block !== undefined && block.bytes >= bytes) return block.ptr;
  if (block !== undefined) simd.free(block.ptr);
  inPlaceBlocks.delete(simd);
  const grown = Math.max(bytes, (block?.bytes ?? 0) * 2);
  const ptr = simd.allocate(grown / 4);
  inPlaceBlocks.set(simd, { ptr, bytes: grown });
  return ptr;
}

/**
 * `call` split with every thread on tfjs's shared heap: each helper reads and writes its items
 * where they are; only a summed output and the scratch get regions of their own per helper. The
 * same items per thread, and the partial sums added in the same order, as {@link splitAcross}.
 */
function splitInPlace(
  threads: KernelThreads,
  simd: SimdKernels,
  call: SplitCall,
  bounds: number[],
  run: (...a: number[]) => void,
): void {
  const memory = threads.adopt(simd.memory);
  const parts = bounds.length - 1;
  const bytesOf = (floats: number) => Math.ceil((floats * 4) / 16) * 16 + 64;
  const own =
    (call.out.sum ? bytesOf(call.out.floats) : 0) + (call.scratch ? bytesOf(call.scratch.floats) : 0);
  const base = own > 0 ? inPlaceBlock(simd, own * (parts - 1)) : 0;
  const helperAt = Array.from({ length: parts - 1 }, (_, h) => {
    const first = bounds[h + 1];
    const at = base + h * own;
    return {
      first,
      count: bounds[h + 2] - first,
      sum: call.out.sum ? at : 0,
      scratch: call.scratch ? at + (call.out.sum ? bytesOf(call.out.floats) : 0) : 0,
    };
  });
  const strides = call.perItem.map((r) => r.rows?.stride ?? r.floats);
  const helperArgs = helperAt.map((h) =>
    call.args(
      {
        first: h.first,
        perItem: call.perItem.map((r) => r.ptr + h.first * r.floats * 4),
        strides,
        whole: call.whole.map((r) => r.ptr),
        out: call.out.sum ? h.sum : call.out.ptr + h.first * call.out.floats * 4,
        outs: (call.outs ?? []).map((r) => r.ptr + h.first * r.floats * 4),
        scratch: h.scratch,
      },
      h.count,
    ),
  );
  helperArgs.forEach((args, k) => {
    threads.run(k, call.fn, args, memory);
  });
  // A share taken back runs here with the helper's own arguments (same heap, same regions).
  runOwnShare(
    threads,
    helperAt.length,
    () => run(...call.args(inPlace(call), bounds[1])),
    (k) => run(...helperArgs[k]),
  );
  if (!call.out.sum) return;
  const mem = simd.heap();
  const out = call.out.ptr / 4;
  for (const h of helperAt) {
    const src = h.sum / 4;
    for (let i = 0; i < call.out.floats; i++) mem[out + i] += mem[src + i];
  }
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

/**
 * Whether `call` reads the kept output `k` as its first per-item input, in the same shares,
 * without filling a resident block (which could land where the kept shares are).
 */
function reads(k: KeptOutput, threads: KernelThreads, call: SplitCall): boolean {
  const input = call.perItem[0];
  const parts = threads.count + 1;
  return (
    k.threads === threads &&
    input !== undefined &&
    input.rows === undefined &&
    input.ptr === k.ptr &&
    input.floats === k.floats &&
    k.bounds.length === parts + 1 &&
    k.bounds[parts] === call.items &&
    call.whole.every(
      (r) =>
        r.resident === undefined || threads.residentCurrent(r.resident.owner, r.resident.version, r.floats),
    )
  );
}

function splitAcross(
  threads: KernelThreads,
  simd: SimdKernels,
  call: SplitCall,
  bounds: number[],
  run: (...a: number[]) => void,
): void {
  const parts = bounds.length - 1;
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
  // The kept output this call reads (reads() checked it): its shares stay where they are.
  const input = kept;
  kept = null;
  const keep = keeping && call.out.keep === true && call.out.sum !== true && call.outs === undefined;
  // 64 bytes after each region: kernels may read a vector past their input (see
  // lenet_conv_filter_grad), never past that.
  const bytesOf = (floats: number) => Math.ceil((floats * 4) / 16) * 16 + 64;
  const ownFloats = (h: number) => {
    const count = bounds[h + 2] - bounds[h + 1];
    return call.perItem.map((r, i) =>
      i === 0 && input !== null ? -1 : r.floats * count * (r.rows?.count ?? 1),
    );
  };
  // This call's regions below the kept shares where they fit, else above them.
  let offset = threads.callStart;
  if (input !== null) {
    let bytes = call.whole.reduce((b, r) => b + (r.resident === undefined ? bytesOf(r.floats) : 0), 0);
    for (let h = 0; h < parts - 1; h++) {
      const count = bounds[h + 2] - bounds[h + 1];
      bytes += ownFloats(h).reduce((b, f) => b + (f < 0 ? 0 : bytesOf(f)), 0);
      bytes += bytesOf(call.out.sum ? call.out.floats : call.out.floats * count);
      bytes += (call.outs ?? []).reduce((b, r) => b + bytesOf(r.floats * count), 0);
      bytes += call.scratch ? bytesOf(call.scratch.floats) : 0;
    }
    if (offset + bytes > input.start) offset = Math.max(offset, input.end);
  }
  const place = (floats: number) => {
    const at = offset;
    offset += bytesOf(floats);
    return at;
  };
  const wholeAt = call.whole.map((r, i) => (r.resident === undefined ? place(r.floats) : residentAt[i]));
  const helperAt = Array.from({ length: parts - 1 }, (_, h) => {
    const count = bounds[h + 2] - bounds[h + 1];
    return {
      perItem: ownFloats(h).map((f) => (f < 0 ? (input as KeptOutput).at[h] : place(f))),
      out: place(call.out.sum ? call.out.floats : call.out.floats * count),
      outs: (call.outs ?? []).map((r) => place(r.floats * count)),
      scratch: call.scratch ? place(call.scratch.floats) : 0,
      count,
      first: bounds[h + 1],
    };
  });
  threads.reserve(Math.max(offset, input?.end ?? 0));
  copiedFloats += call.whole.reduce((sum, r) => sum + (r.resident ? 0 : r.floats * (parts - 1)), 0);
  copiedFloats += helperAt.reduce(
    (sum, h) =>
      sum +
      call.perItem.reduce(
        (f, r, i) => f + (i === 0 && input !== null ? 0 : r.floats * h.count * (r.rows?.count ?? 1)),
        0,
      ) +
      // A kept output counts when it is copied back (flushSplitOutput).
      (keep ? 0 : call.out.sum ? call.out.floats : call.out.floats * h.count) +
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
      if (i === 0 && input !== null) return;
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
  runOwnShare(threads, helperAt.length, () => run(...call.args(inPlace(call), bounds[1])));
  if (keep) {
    const at = helperAt.map((h) => h.out);
    const end = Math.max(...helperAt.map((h) => h.out + bytesOf(h.count * call.out.floats)));
    kept = { threads, ptr: call.out.ptr, floats: call.out.floats, bounds, at, start: Math.min(...at), end };
    return;
  }
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
