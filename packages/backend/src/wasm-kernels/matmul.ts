import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { BackendError } from '../errors.js';
import { _FusedMatMul, type KernelFunc, type TensorInfo } from '../tfjs.js';
import type { KernelArgs } from './conv-util.js';
import { replacingKernel } from './kernel-config.js';
import { kernelThreads } from './kernel-threads.js';
import { roundUp4, type SimdKernels, simdKernels } from './simd.js';
import { runSplit, type SplitCall } from './split.js';

interface MatMulAttrs {
  transposeA?: boolean;
  transposeB?: boolean;
  activation?: string;
}

/** Rank-3 operands of one float32 product, with the batch broadcast rule of BatchMatMul. */
function productShape(
  a: TensorInfo,
  b: TensorInfo,
  attrs: MatMulAttrs,
): { batch: number; m: number; k: number; n: number } | null {
  if (a.shape.length !== 3 || b.shape.length !== 3 || a.dtype !== 'float32' || b.dtype !== 'float32')
    return null;
  const [ba, a1, a2] = a.shape;
  const [bb, b1, b2] = b.shape;
  const [m, k] = attrs.transposeA ? [a2, a1] : [a1, a2];
  const [k2, n] = attrs.transposeB ? [b2, b1] : [b1, b2];
  if (k !== k2 || (ba !== bb && ba !== 1 && bb !== 1)) return null;
  return { batch: Math.max(ba, bb), m, k, n };
}

/**
 * C = A·B (+ bias, relu) for rank-3 float32 operands with the SIMD kernel (csrc/lenet-kernels.c):
 * a transposed A is read through strides; B is brought to [k, n4] (transposed and/or padded to
 * a multiple of 4 columns) in scratch when it is not already so.
 */
function simdProduct(
  simd: SimdKernels,
  backend: BackendWasm,
  a: TensorInfo,
  b: TensorInfo,
  attrs: MatMulAttrs,
  dims: { batch: number; m: number; k: number; n: number },
  bias: TensorInfo | undefined,
  relu: boolean,
): TensorInfo {
  const { batch, m, k, n } = dims;
  const out = backend.makeOutput([batch, m, n], 'float32');
  if (batch * m * n === 0) return out;
  const n4 = roundUp4(n);
  const copyB = attrs.transposeB === true || n4 !== n;
  const f = simd.fn;
  const [ba, bb] = [a.shape[0], b.shape[0]];
  simd.withScratch([copyB ? k * n4 : 0, bias ? n4 : 0], ([bs, biasPtr]) => {
    if (bias) {
      const padded = simd.floats(biasPtr, n4);
      padded.fill(0);
      padded.set(backend.typedArrayFromHeap(bias) as Float32Array);
    }
    for (let i = 0; i < batch; i++) {
      const aPtr = simd.ptr(a) + (ba === 1 ? 0 : i) * m * k * 4;
      const bSrc = simd.ptr(b) + (bb === 1 ? 0 : i) * k * n * 4;
      let bPtr = bSrc;
      // A broadcast B is prepared once.
      if (copyB && (i === 0 || bb !== 1)) {
        if (attrs.transposeB) {
          simd.floats(bs, k * n4).fill(0);
          f.lenet_transpose(bSrc, bs, n, k, n4);
        } else {
          f.lenet_copy_rows(bSrc, n, bs, n4, k, n, k * n4);
        }
      }
      if (copyB) bPtr = bs;
      const cPtr = simd.ptr(out) + i * m * n * 4;
      if (attrs.transposeA) {
        // Rows of a transposed A are strided: split over k (partial sums) where nothing is added
        // after the product.
        if (bias || relu) f.lenet_gemm(aPtr, 1, m, bPtr, cPtr, m, n, n4, k, bias ? biasPtr : 0, relu ? 1 : 0);
        else gemmTransposedA(simd, aPtr, bPtr, cPtr, { m, n, n4, k });
        continue;
      }
      gemmRows(simd, aPtr, bPtr, cPtr, { m, n, n4, k }, bias ? biasPtr : 0, relu);
    }
  });
  return out;
}

let reductionSplit = globalThis.process?.env?.LENET_DW_SPLIT !== '0';

/**
 * Rows of the reduction (images) below which {@link gemmTransposedA} stays on one thread: each
 * helper's partial C (m·n floats) is copied back and added on the calling thread, work that only
 * k ≥ 128 rows outweigh (step stages, 2 threads on ÷ off: mlp2 b256's 784→100 gradient
 * 1.36 → 1.16 ms and LeNet-5 b256's 400→120 1.33 → 1.22, but keras-shallow b64's 3136→64
 * 1.69 → 2.40).
 */
const REDUCTION_SPLIT_MIN_ROWS = 128;

/**
 * Turns the split of `gemmTransposedA`'s reduction over the helper threads on or off (the
 * dense weight gradient on one thread, as before round 9); for A/B timing in one process.
 * `LENET_DW_SPLIT=0` starts with it off.
 */
export function setDenseGradientSplitEnabled(on: boolean): void {
  reductionSplit = on;
}

let columnSplit = globalThis.process?.env?.LENET_DW_COLUMNS !== '0';

/**
 * Splits `gemmTransposedA` over the helper threads by rows of C (columns of A) when on, over its
 * reduction (the batch, partial sums added at the end) when off; for A/B timing in one process.
 * `LENET_DW_COLUMNS=0` starts with it off.
 */
export function setDenseGradientColumnSplitEnabled(on: boolean): void {
  columnSplit = on;
}

/**
 * C [m, n] = Aᵀ·B with A [k, m] and B [k, n4] on wasm-heap buffers (byte offsets), B's columns
 * past n zero: a dense layer's weight gradient xᵀ·dy (k the batch). Where A's rows are a multiple
 * of 128 floats long, A is first transposed into `scratch` (m·k floats; allocated here when 0)
 * so that the product reads contiguous rows. Split
 * over the helper threads when the product is big enough, by rows of C: a helper gets its rows of
 * Aᵀ (else its columns of A: a strided copy, k rows of its width) and all of B, and its rows of C
 * come back as they are, each the same sum as on one thread. With {@link setDenseGradientColumnSplitEnabled} off, by the reduction axis
 * instead: each takes contiguous rows of A and B (its images) and sums them into its own C, and
 * the partial C are added on the calling thread (a JS pass over all of C: ~90 µs for mlp2's 78 k
 * weights), so the rounding depends on the thread count.
 */
export function gemmTransposedA(
  simd: SimdKernels,
  a: number,
  b: number,
  c: number,
  dims: { m: number; n: number; n4: number; k: number },
  scratch = 0,
): void {
  const { m, n, n4, k } = dims;
  const macs = m * n * k;
  const minMacs =
    reductionSplit && (k >= REDUCTION_SPLIT_MIN_ROWS || macs >= LARGE_GRADIENT_MACS)
      ? GEMM_SPLIT_MIN_MACS
      : Number.POSITIVE_INFINITY;
  if (columnSplit && transposesA(m)) {
    const rows = (aT: number): void => {
      simd.fn.lenet_transpose(a, aT, k, m, k);
      gemmRows(simd, aT, b, c, dims, 0, false, minMacs);
    };
    if (scratch !== 0) rows(scratch);
    else simd.withScratch([m * k], ([aT]) => rows(aT));
    return;
  }
  if (columnSplit) {
    // Rows of C: a helper gets its columns of A (a strided copy) and all of B, and its rows of C
    // come back as they are, where a reduction split adds a whole partial C on this thread.
    runSplit(simd, {
      fn: 'lenet_gemm',
      macs,
      minMacs,
      items: m,
      perItem: [{ ptr: a, floats: 1, rows: { count: k, stride: m } }],
      whole: [{ ptr: b, floats: k * n4 }],
      out: { ptr: c, floats: n },
      args: (p, count) => [p.perItem[0], 1, p.strides[0], p.whole[0], p.out, count, n, n4, k, 0, 0],
    });
    return;
  }
  runSplit(simd, {
    fn: 'lenet_gemm',
    macs,
    minMacs,
    items: k,
    perItem: [
      { ptr: a, floats: m },
      { ptr: b, floats: n4 },
    ],
    whole: [],
    out: { ptr: c, floats: m * n, sum: true },
    args: (p, count) => [p.perItem[0], 1, m, p.perItem[1], p.out, m, n, n4, count, 0, 0],
  });
}

/**
 * Multiply-adds from which {@link gemmTransposedA} splits whatever the batch: vgg-cifar10's
 * 2048→2500 gradient at batch 64 is 328 M, far past what the copies cost (the 128-image rule was
 * measured on 3–13 M products).
 */
const LARGE_GRADIENT_MACS = 64_000_000;

/**
 * Columns of A (floats) whose multiples {@link gemmTransposedA} transposes first: a stride of a
 * multiple of 128 floats (512 bytes) maps the k loads of a tile to at most 8 of L1's 64 sets.
 * Other strides read faster in place than transposed (step stages on ÷ off: mlp2 b256's 784→100
 * gradient 0.63 → 1.34 ms, LeNet-5's 400→120 0.96 → 1.29; vgg-cifar10's 2048→2500 30.1 → 25.2).
 */
const ALIASING_STRIDE = 128;

let transposeFirst = globalThis.process?.env?.LENET_DW_TRANSPOSE !== '0';

/** Whether {@link gemmTransposedA} transposes an A of `m` columns first (then it needs m·k floats of scratch). */
export function transposesA(m: number): boolean {
  return transposeFirst && m % ALIASING_STRIDE === 0;
}

/**
 * Whether `gemmTransposedA` transposes A into contiguous rows first (on), or reads its
 * columns through strides (off): a stride of a power of two floats (vgg-cifar10's 2048 features)
 * maps every A load of a tile to the same few cache sets; for A/B timing in one process.
 * `LENET_DW_TRANSPOSE=0` starts with it off.
 */
export function setDenseGradientTransposeEnabled(on: boolean): void {
  transposeFirst = on;
}

/** Multiply-adds below which a product stays on one thread: every helper gets a copy of B. */
const GEMM_SPLIT_MIN_MACS = 8_000_000;

/**
 * C [m, n] = A [m, k] · B [k, n4] (+ bias [n4], then relu) on wasm-heap buffers (byte offsets),
 * rows of A split over the helper threads when the product is big enough. B's and the bias's
 * columns past n are zeros. The registered matrix kernels and the compiled training step run this.
 */
export function gemmRows(
  simd: SimdKernels,
  a: number,
  b: number,
  c: number,
  dims: { m: number; n: number; n4: number; k: number },
  bias: number,
  relu: boolean,
  // Measured slower split below ~8M multiply-adds (a 64×400·400×120 product: 0.20 ms on one
  // thread, 0.29 ms split).
  minMacs = GEMM_SPLIT_MIN_MACS,
): void {
  const { m, n, n4, k } = dims;
  runSplit(simd, {
    fn: 'lenet_gemm',
    macs: m * n * k,
    minMacs,
    items: m,
    perItem: [{ ptr: a, floats: k }],
    whole:
      bias !== 0
        ? [
            { ptr: b, floats: k * n4 },
            { ptr: bias, floats: n4 },
          ]
        : [{ ptr: b, floats: k * n4 }],
    out: { ptr: c, floats: n },
    args: (p, count) => [
      p.perItem[0],
      k,
      1,
      p.whole[0],
      p.out,
      count,
      n,
      n4,
      k,
      bias !== 0 ? p.whole[1] : 0,
      relu ? 1 : 0,
    ],
  });
}

let sparseInput = globalThis.process?.env?.LENET_DENSE_SPARSE !== '0';

/**
 * Turns on or off (for A/B timing in one process) the compiled nets' dense products over the
 * nonzero entries of the layer's input only (`sparseInputEntries`): forward x·W and the weight
 * gradient xᵀ·dy of a layer whose input is mostly zeros (MNIST's pixels, ~80 %). Read when a net
 * is compiled and at each call. `LENET_DENSE_SPARSE=0` starts with it off.
 */
export function setDenseSparseInputEnabled(on: boolean): void {
  sparseInput = on;
}

/** Whether {@link setDenseSparseInputEnabled} is on. */
export function denseSparseInputEnabled(): boolean {
  return sparseInput;
}

/**
 * Share of nonzero entries of A up to which the sparse products run. They cost ~1.4× the dense
 * kernel's time per multiply-add kept (mlp2's 784→100 on MNIST, one thread: 19 % nonzero, 3.8×
 * faster forward, 2.9× the gradient), so up to ~70 % would still pay on one thread; 30 % leaves
 * room for a dense product that splits over two threads where the sparse one would not.
 */
const SPARSE_MAX_DENSITY = 0.3;

/** Floats of the list `lenet_gemm_sparse_a` needs for k entries a row. */
export function sparseListFloats(k: number): number {
  return 2 * k;
}

/** Floats of the lists `lenet_gemm_sparse_at` needs for A [m, k] as sparse as `sparseInputEntries` allows. */
export function sparseGradientListFloats(m: number, k: number): number {
  return 2 * (k + 1) + 2 * (Math.floor(m * k * SPARSE_MAX_DENSITY) + k);
}

/**
 * The nonzero entries of A [m, k] (on a wasm-heap buffer) when the sparse products may run on it
 * times a B of n columns — on, n a multiple of 4, and at most `SPARSE_MAX_DENSITY` of A's
 * entries nonzero — else -1. The caller checks that B is finite (a term 0·b the sparse sums skip
 * is NaN for an infinite b).
 */
export function sparseInputEntries(simd: SimdKernels, a: number, m: number, k: number, n: number): number {
  if (!sparseInput || n % 4 !== 0 || m * k === 0) return -1;
  const entries = simd.fn.lenet_count_nonzero(a, m * k);
  if (entries > Math.floor(m * k * SPARSE_MAX_DENSITY)) return -1;
  sparseCount++;
  return entries;
}

let sparseSplit = globalThis.process?.env?.LENET_DENSE_SPARSE_SPLIT !== '0';

/**
 * Turns on or off (for A/B timing in one process) splitting the sparse products over the helper
 * threads (`gemmSparse` by rows, `gemmSparseTransposedA` by rows of C).
 * `LENET_DENSE_SPARSE_SPLIT=0` starts with it off.
 */
export function setDenseSparseSplitEnabled(on: boolean): void {
  sparseSplit = on;
}

/**
 * Multiply-adds kept (nonzero entries × n) from which `gemmSparse` splits: a helper gets its
 * rows of A and, unless resident, all of B. Each kept one costs ~1.4× a dense one.
 */
const SPARSE_SPLIT_MIN_MACS = 2_000_000;
const SPARSE_RESIDENT_SPLIT_MIN_MACS = 1_500_000;

/**
 * C [m, n] = A [m, k] · B [k, n] (+ bias [n], then relu) over A's nonzero entries
 * (`entries` of them, from `sparseInputEntries`), split over the helper threads by rows when big
 * enough; `list` holds `sparseListFloats(k)` floats. B's rows stay in the helpers while
 * `resident` (owner, version) does.
 */
export function gemmSparse(
  simd: SimdKernels,
  a: number,
  b: number,
  bias: number,
  c: number,
  dims: { m: number; n: number; k: number },
  relu: boolean,
  list: number,
  entries: number,
  resident?: { owner: object; version: number },
): void {
  const { m, n, k } = dims;
  const keep = residentPanels ? resident : undefined;
  const whole: SplitCall['whole'] = [{ ptr: b, floats: k * n, resident: keep }];
  if (bias !== 0) whole.push({ ptr: bias, floats: n });
  runSplit(simd, {
    fn: 'lenet_gemm_sparse_a',
    macs: entries * n,
    minMacs: !sparseSplit
      ? Number.POSITIVE_INFINITY
      : keep
        ? SPARSE_RESIDENT_SPLIT_MIN_MACS
        : SPARSE_SPLIT_MIN_MACS,
    items: m,
    perItem: [{ ptr: a, floats: k }],
    whole,
    out: { ptr: c, floats: n },
    scratch: { ptr: list, floats: sparseListFloats(k) },
    args: (p, count) => [
      p.perItem[0],
      p.whole[0],
      bias !== 0 ? p.whole[1] : 0,
      p.out,
      count,
      n,
      k,
      relu ? 1 : 0,
      p.scratch,
    ],
  });
}

/**
 * C [k, n] = Aᵀ·B with A [m, k] and B [m, n] over A's nonzero entries (a dense layer's weight
 * gradient xᵀ·dy of an input `sparseInputEntries` took, `entries` of them), split over the
 * helper threads by rows of C when big enough: a helper gets its columns of A (a strided copy) and
 * all of B, and its rows of C are the same sums as on one thread. `list` holds
 * `sparseGradientListFloats(m, k)` floats.
 */
export function gemmSparseTransposedA(
  simd: SimdKernels,
  a: number,
  b: number,
  c: number,
  dims: { m: number; n: number; k: number },
  list: number,
  entries: number,
): void {
  const { m, n, k } = dims;
  runSplit(simd, {
    fn: 'lenet_gemm_sparse_at',
    macs: entries * n,
    minMacs: sparseSplit ? SPARSE_SPLIT_MIN_MACS : Number.POSITIVE_INFINITY,
    items: k,
    perItem: [{ ptr: a, floats: 1, rows: { count: m, stride: k } }],
    whole: [{ ptr: b, floats: m * n }],
    out: { ptr: c, floats: n },
    scratch: { ptr: list, floats: sparseGradientListFloats(m, k) },
    args: (p, count) => [p.perItem[0], p.strides[0], p.whole[0], p.out, m, n, count, p.scratch],
  });
}

let sparseCount = 0;

/** Inputs `sparseInputEntries` found sparse enough so far (for tests). */
export function sparseInputCalls(): number {
  return sparseCount;
}

const PANEL = 16;

let dxPanels = globalThis.process?.env?.LENET_DX_PANELS !== '0';

/**
 * Whether the compiled training step's dense input gradient dy·Wᵀ reads Wᵀ packed in panels
 * (on) or a transposed copy of W (off); read when a net is compiled, for A/B timing.
 * `LENET_DX_PANELS=0` starts with it off.
 */
export function setDenseInputGradientPanelsEnabled(on: boolean): void {
  dxPanels = on;
}

/** Whether {@link setDenseInputGradientPanelsEnabled} is on. */
export function inputGradientPanels(): boolean {
  return dxPanels;
}

/** Columns of a panel product's output in panels: n rounded up to a whole panel. */
export function panelColumns(n: number): number {
  return Math.ceil(n / PANEL) * PANEL;
}

/** Floats of B [k, n] packed in panels with its bias row ({@link packPanels}). */
export function panelFloats(k: number, n: number): number {
  return (k + 1) * panelColumns(n);
}

/**
 * Packs B [k, n] (or, `transposed`, B = Sᵀ of a source S [n, k]) and the bias (0: none) into
 * panels for {@link gemmPanels} (csrc: lenet_pack_panels), at `dst` ({@link panelFloats}).
 */
export function packPanels(
  simd: SimdKernels,
  src: number,
  transposed: boolean,
  bias: number,
  dst: number,
  dims: { k: number; n: number },
): void {
  const { k, n } = dims;
  if (transposed) simd.fn.lenet_pack_panels(src, 1, k, bias, dst, k, n);
  else simd.fn.lenet_pack_panels(src, n, 1, bias, dst, k, n);
}

let residentPanels = globalThis.process?.env?.LENET_DENSE_RESIDENT !== '0';

/**
 * Turns on or off (for A/B timing in one process) keeping packed dense panels in the helper
 * threads' memory between calls: a product on panels that do not change (inference) then
 * copies only A (or its rows) in and C's share out (off: the panels travel with every call).
 * `LENET_DENSE_RESIDENT=0` starts with it off.
 */
export function setDenseResidentEnabled(on: boolean): void {
  residentPanels = on;
}

/**
 * Multiply-adds from which a product on resident panels too small for {@link GEMM_SPLIT_MIN_MACS}
 * is split, by rows: a helper then gets only its rows of A (and gives back its rows of C), ~2 µs
 * of handshake and ~5 µs of copies at mlp2's 64×784·784×100 inference (5 M), a ~0.2 ms product
 * (per-call A/B under chrt, p10 of a call: 0.225 → 0.149–0.188 ms, min 0.219 → 0.144). Like any
 * split it loses when the helper shares its core (load 5 on 2 cores: 0.31 → 0.58 ms). From 2 M,
 * LeNet-5's 64×400·400×120 (3.1 M) gained 4 % and its 256×120·120×84 (2.6 M) was even.
 */
const RESIDENT_SPLIT_MIN_MACS = 3_000_000;

let residentSplit = globalThis.process?.env?.LENET_RESIDENT_SPLIT !== '0';

/**
 * Whether a product on resident panels splits over the helper threads by rows from
 * `RESIDENT_SPLIT_MIN_MACS` (on) or only from 8 M as any product (off); for A/B timing in
 * one process. `LENET_RESIDENT_SPLIT=0` starts with it off.
 */
export function setDenseResidentSplitEnabled(on: boolean): void {
  residentSplit = on;
}

/**
 * C [m, n] = A [m, k] · B (+ the packed bias, then relu) with B packed by {@link packPanels}.
 * Big products are split over the helper threads: by columns when C has fewer rows than columns
 * (each helper gets a copy of its panels and all of A, and writes its columns in panels to
 * `panelOut`, m × {@link panelColumns}(n) floats, copied into C after), else by rows (each helper
 * gets all of B), whichever copies less. Panels the helpers keep (`resident`: their owner and
 * version, see `KernelThreads.resident`) do not travel: only A's share (by rows) or A (by
 * columns) does; a product on them under 8 M splits by rows from `RESIDENT_SPLIT_MIN_MACS`.
 */
export function gemmPanels(
  simd: SimdKernels,
  a: number,
  bp: number,
  c: number,
  dims: { m: number; n: number; k: number },
  relu: boolean,
  panelOut: number,
  resident?: { owner: object; version: number },
): void {
  const { m, n, k } = dims;
  const f = simd.fn;
  const r = relu ? 1 : 0;
  const panels = panelColumns(n) / PANEL;
  const macs = m * n * k;
  const threads = kernelThreads();
  const keep = residentPanels ? resident : undefined;
  // A product on kept panels too small for the usual rule still splits, by rows: it then copies
  // only half of A in (by columns, all of A).
  const small = keep !== undefined && residentSplit && macs < GEMM_SPLIT_MIN_MACS;
  const byRows = threads !== undefined && (m >= n || panels <= threads.count || small);
  const minMacs = small ? RESIDENT_SPLIT_MIN_MACS : GEMM_SPLIT_MIN_MACS;
  if (threads === undefined || macs < minMacs) {
    f.lenet_gemm_panels(a, k, 1, bp, c, m, n, k, r, n, PANEL);
    return;
  }
  if (byRows) {
    runSplit(simd, {
      fn: 'lenet_gemm_panels',
      macs,
      minMacs,
      items: m,
      perItem: [{ ptr: a, floats: k }],
      whole: [{ ptr: bp, floats: panelFloats(k, n), resident: keep }],
      out: { ptr: c, floats: n },
      args: (p, count) => [p.perItem[0], k, 1, p.whole[0], p.out, count, n, k, r, n, PANEL],
    });
    return;
  }
  const panelOutFloats = m * PANEL;
  const panelBytes = (k + 1) * PANEL * 4;
  runSplit(simd, {
    fn: 'lenet_gemm_panels',
    macs,
    minMacs: GEMM_SPLIT_MIN_MACS,
    items: panels,
    // Kept panels: the helpers hold all of them and each reads its share in place.
    perItem: keep ? [] : [{ ptr: bp, floats: (k + 1) * PANEL }],
    whole: keep
      ? [
          { ptr: a, floats: m * k },
          { ptr: bp, floats: panelFloats(k, n), resident: keep },
        ]
      : [{ ptr: a, floats: m * k }],
    out: { ptr: panelOut, floats: panelOutFloats },
    // A share's last panel may be C's last: its columns past n are zeros in B, and land in
    // panelOut's padding.
    args: (p, count) => [
      p.whole[0],
      k,
      1,
      keep ? p.whole[1] + p.first * panelBytes : p.perItem[0],
      p.out,
      m,
      count * PANEL,
      k,
      r,
      PANEL,
      panelOutFloats,
    ],
  });
  for (let j = 0; j < panels; j++) {
    const cols = Math.min(PANEL, n - j * PANEL);
    f.lenet_copy_rows(panelOut + j * panelOutFloats * 4, PANEL, c + j * PANEL * 4, n, m, cols, 0);
  }
}

/**
 * BatchMatMul for wasm with the SIMD product (the dense layers' forward and both backward
 * products); `fallback` (the transposing composite, or stock) for anything else.
 */
export function makeSimdBatchMatMul(fallback: KernelFunc): KernelFunc {
  return (args: KernelArgs): TensorInfo => {
    const backend = args.backend as BackendWasm;
    const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
    const attrs = (args.attrs ?? {}) as MatMulAttrs;
    const dims = productShape(a, b, attrs);
    const simd = dims ? simdKernels(backend) : undefined;
    if (dims === null || simd === undefined) return fallback(args) as TensorInfo;
    return simdProduct(simd, backend, a, b, attrs, dims, undefined, false);
  };
}

/**
 * _FusedMatMul (tfjs-layers' dense layer: product + bias + activation) for wasm with the SIMD
 * product for linear and relu activations and a rank-1 bias; other cases go to `stock`.
 */
export function makeFusedMatMulWasm(stock: KernelFunc | undefined): KernelFunc {
  return (args: KernelArgs): TensorInfo => {
    const backend = args.backend as BackendWasm;
    const { a, b, bias, preluActivationWeights } = args.inputs as Record<string, TensorInfo | undefined>;
    const attrs = (args.attrs ?? {}) as MatMulAttrs;
    const activation = attrs.activation ?? 'linear';
    const dims = a && b ? productShape(a, b, attrs) : null;
    const biasOk =
      bias === undefined ||
      (bias.dtype === 'float32' && bias.shape.length === 1 && dims !== null && bias.shape[0] === dims.n);
    const simd =
      dims &&
      biasOk &&
      preluActivationWeights === undefined &&
      (activation === 'linear' || activation === 'relu')
        ? simdKernels(backend)
        : undefined;
    if (dims === null || simd === undefined || a === undefined || b === undefined) {
      if (stock === undefined)
        throw new BackendError('_FusedMatMul: no stock wasm kernel for this case', 'wasm');
      return stock(args) as TensorInfo;
    }
    return simdProduct(simd, backend, a, b, attrs, dims, bias, activation === 'relu');
  };
}

/** _FusedMatMul for wasm; `stock` is kept for the other cases, with its setup. */
export const fusedMatMulConfig = replacingKernel(_FusedMatMul, makeFusedMatMulWasm);
