import type { SimdKernels } from '../wasm-kernels/simd.js';
import { TANH_NUMERATOR } from '../wasm-kernels/tanh.js';
import type { NetActivation } from './net-spec.js';

/**
 * y ← act(y + bias) in place over `total` floats of rows of `c` channels, as tfjs runs a layer's
 * unfused bias add and activation in training (add, then relu or tanh, each rounded to float32).
 * `bias` is the bias variable's data (0: none); `tile` is `tileFloats(c)` floats of scratch.
 */
export function biasActivation(
  simd: SimdKernels,
  y: number,
  bias: number,
  tile: number,
  total: number,
  c: number,
  t: number,
  act: NetActivation,
): void {
  const f = simd.fn;
  if (bias !== 0) {
    f.lenet_fill_tile(bias, tile, c, t);
    f.lenet_bias_act(y, tile, bias, y, total, c, t, act === 'relu' ? 1 : 0);
  } else if (act === 'relu') {
    f.lenet_relu(y, y, total);
  }
  if (act === 'tanh') f.lenet_tanh(y, y, total, ...TANH_NUMERATOR);
}

/**
 * out = dy · act'(·) (out may be dy), from the activation's output `y` (relu: y > 0, as tfjs's
 * gradient of its input x > 0; tanh: 1 − y²). Linear: nothing (only out = dy makes sense then).
 */
export function activationGradient(
  simd: SimdKernels,
  act: NetActivation,
  y: number,
  dy: number,
  out: number,
  total: number,
): void {
  if (act === 'relu') simd.fn.lenet_relu_grad(y, dy, out, total);
  else if (act === 'tanh') simd.fn.lenet_tanh_grad(y, dy, out, total);
}
