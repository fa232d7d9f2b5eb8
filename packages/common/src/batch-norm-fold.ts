import { LenetError } from './errors.js';

/** An inference-mode batch norm over the last axis: its moving statistics and affine terms. */
export interface BatchNormTerms {
  /** Scale per channel (γ); absent when the layer has `scale: false` (γ = 1). */
  gamma?: ArrayLike<number>;
  /** Offset per channel (β); absent when the layer has `center: false` (β = 0). */
  beta?: ArrayLike<number>;
  movingMean: ArrayLike<number>;
  movingVariance: ArrayLike<number>;
  epsilon: number;
}

/** A layer's kernel and bias with a following batch norm folded in. */
export interface FoldedWeights {
  kernel: Float32Array;
  bias: Float32Array;
}

/**
 * Folds an inference-mode batch norm into the convolution or dense layer before it, as
 * `torch.onnx.export` and onnxruntime do for eval-mode models: with s = γ/√(σ² + ε) per output
 * channel, kernel' = kernel·s and bias' = (bias − μ)·s + β, so that
 * BN(layer(x)) = layer'(x) up to float32 rounding. `kernel` has the output channel as its last
 * axis (TensorFlow.js's layouts: conv `[kh, kw, in, out]`, dense `[in, out]`); `bias` may be
 * absent (zero). The scale is formed in float64, as TensorFlow.js's FusedBatchNorm forms it; a
 * variance + ε that is not positive gives non-finite weights, as the batch norm itself gives
 * non-finite outputs. Inputs are not changed; lengths that do not fit throw.
 */
export function foldBatchNorm(
  kernel: ArrayLike<number>,
  bias: ArrayLike<number> | undefined,
  bn: BatchNormTerms,
): FoldedWeights {
  const channels = bn.movingMean.length;
  const fail = (what: string): never => {
    throw new LenetError('INVALID_ARGUMENT', `foldBatchNorm: ${what}`);
  };
  if (channels < 1) fail('the batch norm has no channels');
  const sized: [string, ArrayLike<number> | undefined][] = [
    ['movingVariance', bn.movingVariance],
    ['gamma', bn.gamma],
    ['beta', bn.beta],
    ['bias', bias],
  ];
  for (const [name, values] of sized) {
    if (values !== undefined && values.length !== channels) {
      fail(`${name} has ${values.length} values for ${channels} channels (movingMean's length)`);
    }
  }
  if (kernel.length === 0 || kernel.length % channels !== 0) {
    fail(
      `the kernel's ${kernel.length} values are not a whole number of rows of ${channels} output channels`,
    );
  }
  const scale = new Float64Array(channels);
  const outBias = new Float32Array(channels);
  for (let c = 0; c < channels; c++) {
    scale[c] = (bn.gamma ? bn.gamma[c] : 1) / Math.sqrt(bn.movingVariance[c] + bn.epsilon);
    outBias[c] = ((bias ? bias[c] : 0) - bn.movingMean[c]) * scale[c] + (bn.beta ? bn.beta[c] : 0);
  }
  const outKernel = new Float32Array(kernel.length);
  for (let i = 0, c = 0; i < kernel.length; i++) {
    outKernel[i] = kernel[i] * scale[c];
    if (++c === channels) c = 0;
  }
  return { kernel: outKernel, bias: outBias };
}
