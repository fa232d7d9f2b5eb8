import { type BatchNormTerms, foldBatchNorm } from '@lenet/common';
import type { BatchNormOp, ConvOp, GemmOp, IrOp } from './ir.js';

/**
 * Folds each inference-mode BatchNorm into the Conv or Dense right before it (with
 * `foldBatchNorm` from `@lenet/common`: `w' = w · γ/√(σ²+ε)` per output channel,
 * `b' = (b − μ) · γ/√(σ²+ε) + β`). Only a BatchNorm that directly follows the layer in the chain
 * is folded, which is exact: one after an activation (Keras' conv/relu → BN) or a pooling layer
 * stays a node. Layers that are the identity at inference (Dropout and its kin) leave no op, so
 * they never stand between a layer and its BN here.
 */
export function foldBatchNorms(ops: IrOp[]): IrOp[] {
  const out: IrOp[] = [];
  for (const op of ops) {
    const prev = out[out.length - 1];
    if (op.kind === 'batchNorm' && prev && (prev.kind === 'conv' || prev.kind === 'gemm')) {
      out[out.length - 1] = prev.kind === 'conv' ? foldIntoConv(prev, op) : foldIntoGemm(prev, op);
    } else {
      out.push(op);
    }
  }
  return out;
}

function terms(bn: BatchNormOp): BatchNormTerms {
  return {
    gamma: bn.gamma,
    beta: bn.beta,
    movingMean: bn.mean,
    movingVariance: bn.variance,
    epsilon: bn.epsilon,
  };
}

/**
 * The IR's conv weight is `[out, in, kh, kw]` (ONNX's layout) and `foldBatchNorm` takes the output
 * channel last, so the weight is viewed as `[in·kh·kw, out]` for the fold and put back.
 */
function foldIntoConv(conv: ConvOp, bn: BatchNormOp): ConvOp {
  const cout = conv.dims[0];
  const per = conv.weight.length / cout;
  const outLast = new Float32Array(conv.weight.length);
  for (let o = 0; o < cout; o++)
    for (let j = 0; j < per; j++) outLast[j * cout + o] = conv.weight[o * per + j];
  const folded = foldBatchNorm(outLast, conv.bias ?? undefined, terms(bn));
  const weight = new Float32Array(conv.weight.length);
  for (let o = 0; o < cout; o++)
    for (let j = 0; j < per; j++) weight[o * per + j] = folded.kernel[j * cout + o];
  return { ...conv, layer: `${conv.layer}+${bn.layer}`, weight, bias: folded.bias };
}

/** The IR's gemm weight is `[in, out]`, already the layout `foldBatchNorm` takes. */
function foldIntoGemm(gemm: GemmOp, bn: BatchNormOp): GemmOp {
  const folded = foldBatchNorm(gemm.weight, gemm.bias ?? undefined, terms(bn));
  return { ...gemm, layer: `${gemm.layer}+${bn.layer}`, weight: folded.kernel, bias: folded.bias };
}

/** Merges a zero Pad directly followed by a Conv into the Conv's own pads. */
export function fusePadIntoConv(ops: IrOp[]): IrOp[] {
  const out: IrOp[] = [];
  for (const op of ops) {
    const prev = out[out.length - 1];
    if (op.kind === 'conv' && prev?.kind === 'pad') {
      out[out.length - 1] = {
        ...op,
        pads: op.pads.map((p, i) => p + prev.pads[i]) as ConvOp['pads'],
      };
    } else {
      out.push(op);
    }
  }
  return out;
}

/** Removes a trailing softmax, so the graph outputs logits; reports whether there was one. */
export function dropFinalSoftmax(ops: IrOp[]): { ops: IrOp[]; dropped: boolean } {
  const last = ops[ops.length - 1];
  if (last?.kind === 'activation' && last.fn === 'softmax') return { ops: ops.slice(0, -1), dropped: true };
  return { ops, dropped: false };
}
