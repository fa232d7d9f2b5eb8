import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { BackendError } from '../errors.js';
import type { TensorInfo } from '../tfjs.js';
import { type WasmHeap, wasmHeap } from '../tfjs-internals.js';
import { type KernelBuild, kernelBuild, kernelModuleBytes } from './kernel-module.js';

/**
 * The functions of csrc/lenet-kernels.c. Every pointer is a byte offset into tfjs-backend-wasm's
 * own memory, which the module imports, so the kernels read and write tensors in place.
 */
export interface SimdExports {
  lenet_copy_rows(
    src: number,
    srcStride: number,
    dst: number,
    dstStride: number,
    rows: number,
    len: number,
    zeroLen: number,
  ): void;
  lenet_pad_nhwc(
    src: number,
    dst: number,
    n: number,
    h: number,
    w: number,
    c: number,
    hp: number,
    wp: number,
    top: number,
    left: number,
  ): void;
  lenet_crop_nhwc(
    src: number,
    dst: number,
    n: number,
    h: number,
    w: number,
    c: number,
    hp: number,
    wp: number,
    top: number,
    left: number,
  ): void;
  lenet_conv_filter_grad(
    xp: number,
    dy: number,
    dw: number,
    n: number,
    hp: number,
    wp: number,
    ci: number,
    oh: number,
    ow: number,
    co4: number,
    kh: number,
    kw: number,
    sh: number,
    sw: number,
    dyStride: number,
  ): void;
  lenet_input_grad_filter(
    w: number,
    wt: number,
    kh: number,
    kw: number,
    ci: number,
    co: number,
    l4: number,
  ): void;
  lenet_conv_input_grad(
    dy: number,
    wt: number,
    dxp: number,
    n: number,
    oh: number,
    ow: number,
    co: number,
    hp: number,
    wp: number,
    ci: number,
    kh: number,
    kw: number,
    sh: number,
    sw: number,
    l4: number,
  ): void;
  lenet_fill_tile(b: number, tile: number, c: number, t: number): void;
  lenet_binary_rows(
    a: number,
    tile: number,
    b: number,
    out: number,
    total: number,
    c: number,
    t: number,
    op: number,
  ): void;
  lenet_sum_rows(
    src: number,
    out: number,
    rows: number,
    c: number,
    t: number,
    divisor: number,
    tile: number,
    acc: number,
  ): void;
  /** lenet_batch_norm (c a multiple of 4) then a 2×2/2 max (kind 0) or average (1) pooling, in one pass (see csrc/lenet-kernels.c). */
  lenet_batch_norm_pool2(
    x: number,
    meanTile: number,
    grTile: number,
    offsetTile: number,
    out: number,
    n: number,
    ih: number,
    iw: number,
    c: number,
    oh: number,
    ow: number,
    kind: number,
  ): void;
  /** Training's batch norm (+ relu) + 2×2/2 max pool with argmax bytes in one pass; 1 when a window holds a NaN (see csrc/lenet-kernels.c). */
  lenet_batch_norm_pool2_arg(
    x: number,
    meanTile: number,
    grTile: number,
    offsetTile: number,
    out: number,
    arg: number,
    n: number,
    ih: number,
    iw: number,
    c: number,
    relu: number,
    mask: number,
  ): number;
  lenet_batch_norm(
    x: number,
    meanTile: number,
    grTile: number,
    offsetTile: number,
    out: number,
    total: number,
    c: number,
    t: number,
  ): void;
  lenet_batch_norm_grad(
    x: number,
    dy: number,
    meanTile: number,
    grTile: number,
    dx: number,
    sumDy: number,
    sumDyXm: number,
    total: number,
    c: number,
    t: number,
    work: number,
  ): void;
  lenet_conv_forward(
    xp: number,
    w: number,
    out: number,
    n: number,
    hp: number,
    wp: number,
    ci: number,
    oh: number,
    ow: number,
    co: number,
    co4: number,
    kh: number,
    kw: number,
    sh: number,
    sw: number,
  ): void;
  lenet_conv_forward_pool2(
    xp: number,
    w: number,
    bias: number,
    out: number,
    arg: number,
    nan: number,
    n: number,
    hp: number,
    wp: number,
    ci: number,
    ph: number,
    pw: number,
    co: number,
    co4: number,
    kh: number,
    kw: number,
    act: number,
    pool: number,
    a1: number,
    a3: number,
    a5: number,
    a7: number,
    a9: number,
  ): void;
  lenet_conv_forward_bias_act(
    xp: number,
    w: number,
    out: number,
    n: number,
    hp: number,
    wp: number,
    ci: number,
    oh: number,
    ow: number,
    co: number,
    co4: number,
    kh: number,
    kw: number,
    sh: number,
    sw: number,
    tile: number,
    bias: number,
    t: number,
    relu: number,
  ): void;
  lenet_conv_forward_pool2_full(
    xp: number,
    w: number,
    bias: number,
    out: number,
    full: number,
    n: number,
    hp: number,
    wp: number,
    ci: number,
    ph: number,
    pw: number,
    co: number,
    co4: number,
    kh: number,
    kw: number,
    act: number,
    a1: number,
    a3: number,
    a5: number,
    a7: number,
    a9: number,
  ): void;
  lenet_avg_pool_grad_2x2_tanh(
    dy: number,
    y: number,
    dx: number,
    n: number,
    ih: number,
    iw: number,
    c: number,
    oh: number,
    ow: number,
    scale: number,
  ): void;
  lenet_conv_filter_grad_pool2_arg(
    xp: number,
    dy: number,
    arg: number,
    dw: number,
    n: number,
    hp: number,
    wp: number,
    ci: number,
    ph: number,
    pw: number,
    co: number,
  ): void;
  lenet_sum_rows_pool2_arg(
    dy: number,
    arg: number,
    out: number,
    n: number,
    ph: number,
    pw: number,
    co: number,
    tile: number,
    acc: number,
  ): void;
  lenet_pack_wide(w: number, wpk: number, kh: number, kw: number, ci: number, co: number, flip: number): void;
  lenet_conv_wide(
    xp: number,
    wpk: number,
    out: number,
    n: number,
    hp: number,
    wp: number,
    ci: number,
    oh: number,
    ow: number,
    co: number,
    kh: number,
    kw: number,
    sh: number,
    sw: number,
  ): void;
  /** Winograd F(m×m, 3×3) filter transform (see csrc/lenet-kernels.c). */
  lenet_wino_filter(w: number, u: number, ci: number, co: number, flip: number, m: number): void;
  /** Winograd F(m×m, 3×3) stride-1 3×3 convolution of a padded input, with an optional bias, relu and 2×2 pooling after it, the padding before it stored or not (see csrc/lenet-kernels.c). */
  lenet_conv_winograd(
    xp: number,
    u: number,
    out: number,
    n: number,
    hp: number,
    wp: number,
    ci: number,
    oh: number,
    ow: number,
    co: number,
    m: number,
    band: number,
    scratch: number,
    bias: number,
    act: number,
    pool: number,
    top: number,
    left: number,
  ): void;
  /** lenet_conv_winograd with bound-free transforms of the tiles inside the input and output (the same sums; see csrc/lenet-kernels.c). */
  lenet_conv_winograd_interior: SimdExports['lenet_conv_winograd'];
  /** The Winograd filter transforms of the mixed tiles: F(4×4) and the edge shapes (see csrc/lenet-kernels.c). */
  lenet_wino_filter_mixed(
    w: number,
    u: number,
    ci: number,
    co: number,
    flip: number,
    oh: number,
    ow: number,
  ): void;
  /** lenet_conv_winograd with F(4×4) tiles inside and narrower tiles at the edges, no epilogue (see csrc/lenet-kernels.c). */
  lenet_conv_winograd_mixed(
    xp: number,
    u: number,
    out: number,
    n: number,
    hp: number,
    wp: number,
    ci: number,
    oh: number,
    ow: number,
    co: number,
    capacity: number,
    scratch: number,
    top: number,
    left: number,
    interior: number,
  ): void;
  /** dW of a stride-1 3×3 convolution by Winograd F(4×4, 3×3) (see csrc/lenet-kernels.c). */
  lenet_conv_filter_grad_winograd(
    xp: number,
    dy: number,
    dw: number,
    n: number,
    hp: number,
    wp: number,
    ci: number,
    oh: number,
    ow: number,
    co: number,
    band: number,
    scratch: number,
  ): void;
  lenet_conv_filter_grad_winograd_unpadded(
    xp: number,
    dy: number,
    dw: number,
    n: number,
    hp: number,
    wp: number,
    ci: number,
    oh: number,
    ow: number,
    co: number,
    band: number,
    scratch: number,
    top: number,
    left: number,
  ): void;
  /** dW, or with `transposed` dWᵀ, of the wide convolutions (see csrc/lenet-kernels.c). */
  lenet_conv_filter_grad_wide(
    xp: number,
    dy: number,
    out: number,
    n: number,
    hp: number,
    wp: number,
    ci: number,
    oh: number,
    ow: number,
    co: number,
    kh: number,
    kw: number,
    sh: number,
    sw: number,
    chunk: number,
    transposed: number,
  ): void;
  lenet_pool_2x2(
    x: number,
    out: number,
    n: number,
    ih: number,
    iw: number,
    c: number,
    oh: number,
    ow: number,
    kind: number,
  ): void;
  lenet_max_pool_2x2(
    x: number,
    out: number,
    n: number,
    ih: number,
    iw: number,
    c: number,
    oh: number,
    ow: number,
  ): void;
  lenet_max_pool_2x2_arg(
    x: number,
    out: number,
    arg: number,
    n: number,
    ih: number,
    iw: number,
    c: number,
    oh: number,
    ow: number,
  ): void;
  lenet_max_pool_grad_2x2_arg(
    dy: number,
    arg: number,
    dx: number,
    n: number,
    ih: number,
    iw: number,
    c: number,
    oh: number,
    ow: number,
  ): void;
  lenet_pool_grad_2x2(
    dy: number,
    x: number,
    dx: number,
    n: number,
    ih: number,
    iw: number,
    c: number,
    oh: number,
    ow: number,
    kind: number,
    scale: number,
  ): void;
  lenet_repeat(src: number, out: number, len: number, total: number): void;
  lenet_dropout_mask(
    out: number,
    len: number,
    s0: number,
    s1: number,
    s2: number,
    c: number,
    keep: number,
  ): void;
  lenet_gemm(
    a: number,
    aRow: number,
    aCol: number,
    b: number,
    c: number,
    m: number,
    n: number,
    n4: number,
    k: number,
    bias: number,
    relu: number,
  ): void;
  lenet_transpose(src: number, dst: number, rows: number, cols: number, dstStride: number): void;
  lenet_gemm_sparse_a(
    a: number,
    b: number,
    bias: number,
    c: number,
    m: number,
    n: number,
    k: number,
    relu: number,
    list: number,
  ): void;
  lenet_gemm_sparse_at(
    a: number,
    lda: number,
    b: number,
    c: number,
    m: number,
    n: number,
    k: number,
    list: number,
  ): void;
  lenet_count_nonzero(x: number, len: number): number;
  lenet_all_finite(x: number, len: number): number;
  lenet_pack_panels(
    src: number,
    sRow: number,
    sCol: number,
    bias: number,
    dst: number,
    k: number,
    n: number,
  ): void;
  lenet_gemm_panels(
    a: number,
    aRow: number,
    aCol: number,
    bp: number,
    c: number,
    m: number,
    n: number,
    k: number,
    relu: number,
    ldc: number,
    panelStride: number,
  ): void;
  lenet_tanh(
    x: number,
    y: number,
    len: number,
    a1: number,
    a3: number,
    a5: number,
    a7: number,
    a9: number,
  ): void;
  lenet_tanh_grad(y: number, dy: number, dx: number, len: number): void;
  lenet_relu_grad(x: number, dy: number, dx: number, len: number): void;
  lenet_avg_pool_grad(
    dy: number,
    dx: number,
    n: number,
    ih: number,
    iw: number,
    c: number,
    oh: number,
    ow: number,
    sh: number,
    sw: number,
    fh: number,
    fw: number,
    top: number,
    left: number,
    scale: number,
  ): void;
  lenet_max_pool_grad(
    dy: number,
    x: number,
    dx: number,
    n: number,
    ih: number,
    iw: number,
    c: number,
    oh: number,
    ow: number,
    sh: number,
    sw: number,
    fh: number,
    fw: number,
    top: number,
    left: number,
  ): void;
  lenet_bias_act(
    x: number,
    tile: number,
    b: number,
    out: number,
    total: number,
    c: number,
    t: number,
    relu: number,
  ): void;
  lenet_relu(x: number, y: number, len: number): void;
  lenet_sq_dev(x: number, meanTile: number, out: number, total: number, c: number, t: number): void;
  lenet_mul(a: number, b: number, out: number, len: number): void;
  lenet_bn_var_grad(
    x: number,
    meanTile: number,
    dvarTile: number,
    out: number,
    total: number,
    c: number,
    t: number,
  ): void;
  /** Σ (x − mean)² / divisor per channel, bit for bit lenet_sq_dev then lenet_sum_rows (see csrc/lenet-kernels.c). */
  lenet_sum_sq_dev(
    x: number,
    meanTile: number,
    out: number,
    rows: number,
    c: number,
    t: number,
    divisor: number,
    tile: number,
    acc: number,
  ): void;
  /** Σ dvar·((x − mean)·2) per channel, bit for bit lenet_bn_var_grad then lenet_sum_rows. */
  lenet_bn_var_grad_sum(
    x: number,
    meanTile: number,
    dvarTile: number,
    out: number,
    rows: number,
    c: number,
    t: number,
    tile: number,
    acc: number,
  ): void;
  /** (dy·gr + dvar·((x − mean)·2)) + dmean, bit for bit lenet_batch_norm_grad's dx, lenet_bn_var_grad and lenet_bn_dx_sum. */
  lenet_bn_dx_fused(
    x: number,
    dy: number,
    meanTile: number,
    grTile: number,
    dvarTile: number,
    dmeanTile: number,
    dx: number,
    total: number,
    c: number,
    t: number,
  ): void;
  /** sum_rows_of's block sums for blocks [first, first + count), for a split (see csrc/lenet-kernels.c). */
  lenet_block_sums(
    x: number,
    meanTile: number,
    dvarTile: number,
    mode: number,
    out: number,
    first: number,
    count: number,
    tiles: number,
    t: number,
  ): void;
  /** sum_rows_of from lenet_block_sums' blocks, bit for bit (see csrc/lenet-kernels.c). */
  lenet_fold_block_sums(
    sums: number,
    blocks: number,
    x: number,
    meanTile: number,
    dvarTile: number,
    mode: number,
    out: number,
    rows: number,
    c: number,
    t: number,
    divisor: number,
    acc: number,
  ): void;
  /** lenet_batch_norm_grad_pool2's block sums for pairs of rows [first, first + count), for a split (see csrc/lenet-kernels.c). */
  lenet_bn_grad_pool2_blocks(
    x: number,
    dyp: number,
    p: number,
    arg: number,
    meanTile: number,
    pair: number,
    out: number,
    first: number,
    count: number,
    iw: number,
    c: number,
    t: number,
  ): void;
  /** lenet_batch_norm_grad_pool2's sums from lenet_bn_grad_pool2_blocks' blocks, bit for bit. */
  lenet_fold_bn_grad_blocks(
    sums: number,
    blocks: number,
    sumDy: number,
    sumDyXm: number,
    c: number,
    t: number,
    work: number,
  ): void;
  /** lenet_batch_norm_pool2_arg writing 1 to `bad` instead of returning it, for a split. */
  lenet_batch_norm_pool2_arg_flag(
    x: number,
    meanTile: number,
    grTile: number,
    offsetTile: number,
    out: number,
    arg: number,
    n: number,
    ih: number,
    iw: number,
    c: number,
    relu: number,
    mask: number,
    bad: number,
  ): void;
  /** lenet_bn_dx_fused with dy scattered anew  /** lenet_bn_dx_fused with dy scattered anew from the pooled gradient a pair of rows at a time into `pair` (see csrc/lenet-kernels.c). */
  lenet_bn_dx_pool2(
    x: number,
    dyp: number,
    p: number,
    arg: number,
    meanTile: number,
    grTile: number,
    dvarTile: number,
    dmeanTile: number,
    dx: number,
    pair: number,
    n: number,
    ih: number,
    iw: number,
    c: number,
    t: number,
  ): void;
  /** The fused batch norm + max pool's gradient scattered a pair of rows at a time (into dy whole, or one pair when `full` is 0) with lenet_batch_norm_grad's sums (see csrc/lenet-kernels.c). */
  lenet_batch_norm_grad_pool2(
    x: number,
    dyp: number,
    p: number,
    arg: number,
    meanTile: number,
    dy: number,
    full: number,
    sumDy: number,
    sumDyXm: number,
    n: number,
    ih: number,
    iw: number,
    c: number,
    t: number,
    work: number,
  ): void;
  lenet_bn_dx_sum(
    dxp: number,
    dvarPath: number,
    dmeanTile: number,
    out: number,
    total: number,
    c: number,
    t: number,
  ): void;
  lenet_adam(
    w: number,
    g: number,
    m: number,
    v: number,
    outW: number,
    outM: number,
    outV: number,
    len: number,
    beta1: number,
    beta2: number,
    oneMinusB1: number,
    oneMinusB2: number,
    sqrtBc2: number,
    stepSize: number,
    keep: number,
    epsilon: number,
    coupledDecay: number,
  ): void;
  lenet_pool(
    x: number,
    out: number,
    n: number,
    ih: number,
    iw: number,
    c: number,
    oh: number,
    ow: number,
    sh: number,
    sw: number,
    fh: number,
    fw: number,
    kind: number,
  ): void;
  lenet_conv_backward_pool2_arg(
    xp: number,
    dy: number,
    arg: number,
    wt: number,
    dw: number,
    dxp: number,
    scratch: number,
    n: number,
    hp: number,
    wp: number,
    ci: number,
    oh: number,
    ow: number,
    co: number,
    kh: number,
    kw: number,
    l4: number,
    sparse: number,
    sparseDx: number,
    rows: number,
  ): void;
}

/** The kernels bound to one backend instance's memory, with scratch allocation on its heap. */
export class SimdKernels {
  constructor(
    private readonly wasm: WasmHeap,
    /** The module's functions. */
    readonly fn: SimdExports,
  ) {}

  /** tfjs's wasm memory (a `WebAssembly.Memory`), which the module imports. */
  get memory(): object {
    return this.wasm.memory;
  }

  /** Whether that memory is shared, so that the helper threads can run kernels on it in place. */
  get shared(): boolean {
    return this.wasm.buffer() instanceof SharedArrayBuffer;
  }

  /** Byte offset of a tensor's data in the wasm memory. */
  ptr(t: TensorInfo): number {
    const offset = this.wasm.offset(t.dataId);
    if (offset === undefined)
      throw new BackendError('SIMD kernel: tensor data is not on this wasm backend', 'wasm');
    return offset;
  }

  /** Whether `view` is a view of this heap as it is now (so its byteOffset is a pointer here). */
  views(view: Float32Array): boolean {
    return view.buffer === this.wasm.buffer();
  }

  /** A float32 view of all of tfjs's wasm memory, as it is now (growing it replaces the buffer). */
  heap(): Float32Array {
    return new Float32Array(this.wasm.buffer());
  }

  /** A float32 view of `count` floats at byte offset `ptr` (a scratch buffer, say). */
  floats(ptr: number, count: number): Float32Array {
    return this.heap().subarray(ptr / 4, ptr / 4 + count);
  }

  /**
   * Runs `body` with scratch buffers of the given float counts on the wasm heap (freed afterwards,
   * also when it throws). Offsets, unlike typed-array views, stay valid when the heap grows.
   */
  withScratch<T>(floats: readonly number[], body: (ptrs: number[]) => T): T {
    const ptrs: number[] = [];
    try {
      for (const count of floats) ptrs.push(this.allocate(count));
      return body(ptrs);
    } finally {
      for (const p of ptrs) this.free(p);
    }
  }

  /** `count` floats on the wasm heap (byte offset; 0 for none) until {@link free}. */
  allocate(count: number): number {
    if (count <= 0) return 0;
    const p = this.wasm.malloc(count * 4);
    if (p === 0) throw new BackendError(`SIMD kernel: could not allocate ${count * 4} bytes`, 'wasm');
    return p;
  }

  /** Frees what {@link allocate} gave (0: nothing). */
  free(ptr: number): void {
    if (ptr !== 0) this.wasm.free(ptr);
  }
}

/** The part of the WebAssembly global used here (this package compiles without the DOM lib). */
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: object };
}
const wasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** Per build (kernel-module.ts) and memory kind: its compiled module, or null where it cannot run. */
const compiled = new Map<string, object | null>();
/** Per tfjs wasm heap (one per backend instance): its kernels, per build. */
const bound = new WeakMap<WasmHeap, Map<KernelBuild, SimdKernels>>();
/** Set by tests and measurements to run the JS fallbacks instead. */
let disabled = false;

function compiledModule(build: KernelBuild, shared: boolean): object | null {
  const key = `${build}/${shared}`;
  let module = compiled.get(key);
  if (module === undefined) {
    const bytes = kernelModuleBytes(build, shared);
    // Runtimes without wasm SIMD reject the module; the kernels then take their JS paths.
    module = wasmApi.validate(bytes) ? new wasmApi.Module(bytes) : null;
    compiled.set(key, module);
  }
  return module;
}

/**
 * The SIMD kernels bound to `backend`'s memory, or undefined when they cannot run here (no wasm
 * SIMD, or switched off), in which case callers use their JS path. A tfjs whose wasm internals
 * changed throws (see tfjs-internals.ts) rather than quietly taking the slow path.
 */
export function simdKernels(backend: BackendWasm): SimdKernels | undefined {
  if (disabled) return undefined;
  const build = kernelBuild();
  const wasm = wasmHeap(backend);
  // tfjs's heap is shared where the backend started through withSharedTfjsHeap (shared-heap.ts).
  const module = compiledModule(build, wasm.buffer() instanceof SharedArrayBuffer);
  if (module === null) return undefined;
  let builds = bound.get(wasm);
  if (builds === undefined) {
    builds = new Map();
    bound.set(wasm, builds);
  }
  let kernels = builds.get(build);
  if (kernels === undefined) {
    const instance = new wasmApi.Instance(module, { env: { memory: wasm.memory } });
    kernels = new SimdKernels(wasm, instance.exports as unknown as SimdExports);
    builds.set(build, kernels);
  }
  return kernels;
}

/**
 * Switches the SIMD kernels (csrc/lenet-kernels.c) off or on again. Off, the wasm training
 * kernels take their previous paths (composites of tfjs's own kernels, JS loops): for A/B
 * measurements and for runtimes where a SIMD kernel misbehaves. On by default.
 */
export function setSimdKernelsEnabled(enabled: boolean): void {
  disabled = !enabled;
}

/** True when the SIMD kernels are enabled and this runtime can compile them (wasm SIMD). */
export function simdKernelsSupported(): boolean {
  return !disabled && compiledModule(kernelBuild(), false) !== null;
}

/** lcm(c, 4): the floats of a tile that lines rows of c channels up with 4-float vectors. */
export function tileFloats(c: number): number {
  return c % 4 === 0 ? c : c % 2 === 0 ? 2 * c : 4 * c;
}

/** n rounded up to a multiple of 4. */
export function roundUp4(n: number): number {
  return Math.ceil(n / 4) * 4;
}
