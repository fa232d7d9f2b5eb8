import type * as tf from '../tfjs.js';
import type { TensorInfo } from '../tfjs.js';
import { kernelThreads } from '../wasm-kernels/kernel-threads.js';
import {
  denseSparseInputEnabled,
  gemmPanels,
  gemmRows,
  gemmSparse,
  gemmSparseTransposedA,
  gemmTransposedA,
  inputGradientPanels,
  packPanels,
  panelColumns,
  panelFloats,
  sparseGradientListFloats,
  sparseInputEntries,
  sparseListFloats,
  transposesA,
} from '../wasm-kernels/matmul.js';
import { roundUp4, type SimdKernels, tileFloats } from '../wasm-kernels/simd.js';
import { activationGradient, biasActivation } from './activation.js';
import type { BatchNormFold } from './fold.js';
import { checkVariable, type NetActivation, netSpecError } from './net-spec.js';
import { inferencePackingEnabled, PackedWeights } from './packed-weights.js';
import { type NetMode, type Stage, type StageIO, type StepInfo, sizeOf, type Take } from './stage.js';

/**
 * A Dense layer as tfjs-layers trains it: a linear layer is one product with the bias in its
 * accumulators (the fused matMul), the others (relu, tanh, a softmax left to the loss) a product,
 * then the bias add and the activation.
 * Inference fuses a relu too, as tfjs's fused matMul does outside gradient recording.
 * Backward: dW = xᵀ·dy and dx = dy·Wᵀ with the SIMD product, the bias gradient a column sum —
 * the kernels the registered BatchMatMul, _FusedMatMul and Sum run.
 */
export class DenseStage implements Stage {
  readonly outShape: number[];
  readonly passThrough = false;
  private readonly k: number;
  private readonly u: number;
  private readonly u4: number;
  private readonly k4: number;
  private readonly t: number;
  private readonly act: NetActivation;
  /**
   * Whether the bias starts the product's accumulators and the activation is in the product (the
   * fused matMul tfjs-layers calls: linear layers in training, linear and relu ones in inference).
   */
  private readonly fused: boolean;
  private w4 = 0;
  private bias4 = 0;
  private dy4 = 0;
  private wT = 0;
  /** Wᵀ [u, k] in panels and the panel product's output in panels, for dx (see `backward`). */
  private wTPanels = 0;
  private dxPanelOut = 0;
  /** xᵀ [k, n]: the weight gradient's A in contiguous rows (see `gemmTransposedA`). */
  private xT = 0;
  private tile = 0;
  private acc = 0;
  private gKernel = 0;
  private gBias = 0;
  /**
   * Inference: the kernel (and a fused bias) packed in panels, kept while the weights stay, and
   * the panel product's output in panels.
   */
  private readonly panels: PackedWeights | null;
  private panelOut = 0;
  /**
   * The sparse products' lists (see `sparseInputEntries`; 0: not laid out), the input's nonzero
   * entries where this step's forward ran sparse (its backward then does too; else -1), and the
   * kernel data last found finite.
   */
  private sparseList = 0;
  private sparseGradList = 0;
  private sparseStep = -1;
  private finiteKernel: unknown = null;
  /** The helper threads' copy of the kernel for the sparse product (inference: kept while it stays). */
  private readonly sparseOwner = {};
  private sparseVersion = 0;

  constructor(
    private readonly simd: SimdKernels,
    index: number,
    inShape: readonly number[],
    private readonly kernel: tf.Variable,
    private readonly bias: tf.Variable | undefined,
    act: NetActivation | 'softmax',
    private readonly mode: NetMode,
    /** Inference: the kernel and bias with the batch norm after the layer folded in. */
    private readonly folded: BatchNormFold | null = null,
  ) {
    // The logits of a softmax layer are its output here: linear, with the bias added apart.
    this.act = act === 'softmax' ? 'linear' : act;
    this.fused = act === 'linear' || (mode === 'infer' && act === 'relu');
    if (inShape.length !== 1) netSpecError(index, `dense needs a flat input, got [${inShape.join(', ')}]`);
    this.k = sizeOf(inShape);
    if (kernel.rank !== 2) netSpecError(index, `dense kernel must be [inputs, units], got [${kernel.shape}]`);
    this.u = (kernel.shape as number[])[1];
    checkVariable(index, 'dense kernel', kernel, [this.k, this.u]);
    if (bias) checkVariable(index, 'dense bias', bias, [this.u]);
    this.outShape = [this.u];
    this.u4 = roundUp4(this.u);
    this.k4 = roundUp4(this.k);
    this.t = tileFloats(this.u);
    this.panels =
      mode === 'infer' && inferencePackingEnabled()
        ? new PackedWeights(simd, panelFloats(this.k, this.u))
        : null;
  }

  layout(n: number, take: Take): void {
    const { k, u, u4, k4 } = this;
    const sparse = denseSparseInputEnabled() && u % 4 === 0;
    this.sparseList = sparse ? take(sparseListFloats(k)) : 0;
    this.sparseGradList = sparse && this.mode !== 'infer' ? take(sparseGradientListFloats(n, k)) : 0;
    if (this.panels) {
      this.tile = take(this.t);
      this.panelOut = take(n * panelColumns(u));
      return;
    }
    this.w4 = u4 !== u ? take(k * u4) : 0;
    this.bias4 = take(u4);
    if (this.mode === 'infer') {
      this.tile = take(this.t);
      return;
    }
    this.dy4 = u4 !== u ? take(n * u4) : 0;
    if (inputGradientPanels()) {
      this.wTPanels = take(panelFloats(u, k));
      this.dxPanelOut = take(n * panelColumns(k));
    } else {
      this.wT = take(u * k4);
    }
    this.xT = transposesA(k) ? take(k * n) : 0;
    this.tile = take(this.t);
    this.acc = take(this.t);
    this.gKernel = take(k * u);
    this.gBias = this.bias ? take(u) : 0;
  }

  /** The kernel and bias the forward pass runs: the variables, or their fold with a batch norm. */
  private weights(): { kernel: TensorInfo; bias: TensorInfo | undefined } {
    return this.folded ? this.folded.get() : { kernel: this.kernel, bias: this.bias };
  }

  /** B = the kernel [k, u4]: the variable itself, or its rows padded to a multiple of 4 columns. */
  private paddedKernel(kernelInfo: TensorInfo): number {
    const { k, u, u4 } = this;
    const kernel = this.simd.ptr(kernelInfo);
    if (u4 === u) return kernel;
    this.simd.fn.lenet_copy_rows(kernel, u, this.w4, u4, k, u, k * u4);
    return this.w4;
  }

  /** The panels of the current weights. */
  private packedKernel(panels: PackedWeights, kernel: TensorInfo, fusedBias: TensorInfo | undefined): number {
    const { simd, k, u } = this;
    const bias = this.fused ? fusedBias : undefined;
    return panels.get([kernel.dataId, bias?.dataId], (dst) => {
      packPanels(simd, simd.ptr(kernel), false, bias ? simd.ptr(bias) : 0, dst, { k, n: u });
    });
  }

  forward(io: StageIO, step: StepInfo): void {
    const { simd, k, u, u4, act } = this;
    const { n } = step;
    // First: a fold may allocate.
    const { kernel, bias } = this.weights();
    this.sparseStep = this.sparseForward(io, n, kernel, bias);
    if (this.sparseStep >= 0) return;
    if (this.panels) {
      const relu = this.fused && act === 'relu';
      const b = this.packedKernel(this.panels, kernel, bias);
      const resident = { owner: this.panels, version: this.panels.version };
      gemmPanels(simd, io.x, b, io.y, { m: n, n: u, k }, relu, this.panelOut, resident);
      if (!this.fused)
        biasActivation(simd, io.y, bias ? simd.ptr(bias) : 0, this.tile, n * u, u, this.t, act);
      return;
    }
    const b = this.paddedKernel(kernel);
    if (this.fused) {
      const relu = act === 'relu';
      if (!bias) {
        gemmRows(simd, io.x, b, io.y, { m: n, n: u, n4: u4, k }, 0, relu);
        return;
      }
      // The bias in a buffer of u4 floats whose tail stays 0 (the net clears its block once).
      simd.floats(this.bias4, u4).set(simd.floats(simd.ptr(bias), u));
      gemmRows(simd, io.x, b, io.y, { m: n, n: u, n4: u4, k }, this.bias4, relu);
      return;
    }
    gemmRows(simd, io.x, b, io.y, { m: n, n: u, n4: u4, k }, 0, false);
    biasActivation(simd, io.y, bias ? simd.ptr(bias) : 0, this.tile, n * u, u, this.t, act);
  }

  /**
   * The forward product over the input's nonzero entries when it is sparse enough and the kernel
   * finite: returns their count (else -1: the dense product runs). Bit for bit the dense kernel's
   * sums otherwise.
   */
  private sparseForward(io: StageIO, n: number, kernel: TensorInfo, bias: TensorInfo | undefined): number {
    const { simd, k, u, act } = this;
    if (this.sparseList === 0) return -1;
    const entries = sparseInputEntries(simd, io.x, n, k, u);
    if (entries < 0) return -1;
    const w = simd.ptr(kernel);
    if (this.finiteKernel !== kernel.dataId) {
      if (simd.fn.lenet_all_finite(w, k * u) !== 1) return -1;
      this.finiteKernel = kernel.dataId;
      this.sparseVersion++;
    }
    const biasIn = this.fused && bias ? simd.ptr(bias) : 0;
    const relu = this.fused && act === 'relu';
    // Inference keeps its weights from call to call: the helpers keep their copy of the kernel.
    const resident =
      this.mode === 'infer' ? { owner: this.sparseOwner, version: this.sparseVersion } : undefined;
    gemmSparse(simd, io.x, w, biasIn, io.y, { m: n, n: u, k }, relu, this.sparseList, entries, resident);
    if (!this.fused) biasActivation(simd, io.y, bias ? simd.ptr(bias) : 0, this.tile, n * u, u, this.t, act);
    return entries;
  }

  backward(io: StageIO, step: StepInfo, needDx: boolean): void {
    const { simd, k, u, u4, k4 } = this;
    const { n } = step;
    const f = simd.fn;
    activationGradient(simd, this.act, io.y, io.dy, io.dy, n * u);
    if (this.bias) f.lenet_sum_rows(io.dy, this.gBias, n, u, this.t, 1, this.tile, this.acc);
    // dW [k, u] = xᵀ·dy, as the registered kernel forms it.
    const dyB = u4 !== u ? this.dy4 : io.dy;
    if (u4 !== u) f.lenet_copy_rows(io.dy, u, dyB, u4, n, u, n * u4);
    // Over the input's nonzero entries as the forward ran (u is a multiple of 4 there), where dy
    // is finite: a term 0·dy the sparse sums skip is NaN for an infinite dy.
    if (this.sparseStep >= 0 && this.sparseGradList !== 0 && f.lenet_all_finite(io.dy, n * u) === 1)
      gemmSparseTransposedA(
        simd,
        io.x,
        io.dy,
        this.gKernel,
        { m: n, n: u, k },
        this.sparseGradList,
        this.sparseStep,
      );
    else gemmTransposedA(simd, io.x, dyB, this.gKernel, { m: k, n: u, n4: u4, k: n }, this.xT);
    if (!needDx) return;
    if (this.wTPanels !== 0) {
      // dx [n, k] = dy·Wᵀ with Wᵀ packed in panels straight from W: a transposed copy's rows are
      // k4 floats apart, and at a power of two (vgg-cifar10's 2048) every B load of a tile falls
      // in the same few cache sets.
      packPanels(simd, simd.ptr(this.kernel), true, 0, this.wTPanels, { k: u, n: k });
      gemmPanels(simd, io.dy, this.wTPanels, io.dx, { m: n, n: k, k: u }, false, this.dxPanelOut);
      return;
    }
    // dx [n, k] = dy·Wᵀ with Wᵀ [u, k4] (its padding columns stay as the cleared block left them).
    f.lenet_transpose(simd.ptr(this.kernel), this.wT, k, u, k4);
    gemmRows(simd, io.dy, this.wT, io.dx, { m: n, n: k, n4: k4, k: u }, 0, false);
  }

  gradients(): number[] {
    return this.bias ? [this.gKernel, this.gBias] : [this.gKernel];
  }

  dispose(): void {
    kernelThreads()?.releaseResident(this.sparseOwner);
    this.panels?.dispose();
    this.folded?.dispose();
  }
}
