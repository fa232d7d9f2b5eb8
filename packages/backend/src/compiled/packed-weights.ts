import { kernelThreads } from '../wasm-kernels/kernel-threads.js';
import type { SimdKernels } from '../wasm-kernels/simd.js';

let packing = globalThis.process?.env?.LENET_INFER_PACKING !== '0';

/**
 * Turns on or off (for A/B measurements) the compiled inference pass keeping its weights
 * transformed between calls: dense kernels packed in panels (their product on panels, split
 * by rows over the helper threads, which keep their own copy of the panels) and
 * Winograd filter transforms. Off: the products on the weights as they are, split by rows, and
 * the filter transformed at every call. Nets compiled while off stay so, and the other way round.
 * `LENET_INFER_PACKING=0` starts with it off.
 */
export function setInferencePackingEnabled(on: boolean): void {
  packing = on;
}

/** Whether {@link setInferencePackingEnabled} (or `LENET_INFER_PACKING`) leaves it on. */
export function inferencePackingEnabled(): boolean {
  return packing;
}

/**
 * Weights an inference stage keeps transformed (packed in panels, Winograd's filter transform)
 * from call to call, transformed again only when they change. A weight changes by getting new
 * data: tfjs's assign gives it a new data id, and the compiled training step gives conv and dense
 * weights new data (tfjs's XNNPACK kernels cache packed weights per data id the same way). The
 * buffer is the stage's own, outside the net's per-call buffers; the net's release and dispose free
 * it (an owner that keeps its net's buffers between calls keeps these too).
 */
export class PackedWeights {
  private ptr = 0;
  private key: readonly unknown[] = [];
  private packs = 0;

  constructor(
    private readonly simd: SimdKernels,
    private readonly floats: number,
  ) {}

  /**
   * The transformed weights: `pack(dst)` runs first when `key` (the weights' data ids and anything
   * else the transform depends on) is not the one of the last transform.
   */
  get(key: readonly unknown[], pack: (dst: number) => void): number {
    if (this.ptr === 0) this.ptr = this.simd.allocate(this.floats);
    if (key.length !== this.key.length || key.some((k, i) => k !== this.key[i])) {
      // Forgotten first: a transform that throws leaves nothing that looks current.
      this.key = [];
      pack(this.ptr);
      this.packs++;
      this.key = [...key];
    }
    return this.ptr;
  }

  /**
   * Changes whenever the transformed weights do (the helper threads' copy of them, kept from call
   * to call, is current while it stays).
   */
  get version(): number {
    return this.packs;
  }

  /** Frees the buffer (a later {@link get} allocates and transforms again). */
  dispose(): void {
    kernelThreads()?.releaseResident(this);
    if (this.ptr === 0) return;
    this.simd.free(this.ptr);
    this.ptr = 0;
    this.key = [];
  }
}
