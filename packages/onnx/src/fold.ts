import type { BatchNormOp, ConvOp, GemmOp, IrOp } from './ir.js';

/**
 * Folds each inference-mode BatchNorm into the Conv or Dense right before it:
 * `w' = w · γ/√(σ²+ε)` per output channel and `b' = (b − μ) · γ/√(σ²+ε) + β`. A BatchNorm that
 * does not directly follow a Conv/Dense (with no activation between) is kept as is.
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

function scales(bn: BatchNormOp): Float64Array {
  const s = new Float64Array(bn.gamma.length);
  for (let c = 0; c < s.length; c++) s[c] = bn.gamma[c] / Math.sqrt(bn.variance[c] + bn.epsilon);
  return s;
}

function foldedBias(bias: Float32Array | null, bn: BatchNormOp, s: Float64Array): Float32Array {
  const out = new Float32Array(s.length);
  for (let c = 0; c < s.length; c++) out[c] = ((bias ? bias[c] : 0) - bn.mean[c]) * s[c] + bn.beta[c];
  return out;
}

function foldIntoConv(conv: ConvOp, bn: BatchNormOp): ConvOp {
  const s = scales(bn);
  const [cout, cin, kh, kw] = conv.dims;
  const per = cin * kh * kw;
  const weight = new Float32Array(conv.weight.length);
  for (let o = 0; o < cout; o++)
    for (let j = 0; j < per; j++) weight[o * per + j] = conv.weight[o * per + j] * s[o];
  return { ...conv, layer: `${conv.layer}+${bn.layer}`, weight, bias: foldedBias(conv.bias, bn, s) };
}

function foldIntoGemm(gemm: GemmOp, bn: BatchNormOp): GemmOp {
  const s = scales(bn);
  const weight = new Float32Array(gemm.weight.length);
  for (let i = 0; i < gemm.inFeatures; i++)
    for (let o = 0; o < gemm.outFeatures; o++)
      weight[i * gemm.outFeatures + o] = gemm.weight[i * gemm.outFeatures + o] * s[o];
  return { ...gemm, layer: `${gemm.layer}+${bn.layer}`, weight, bias: foldedBias(gemm.bias, bn, s) };
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
