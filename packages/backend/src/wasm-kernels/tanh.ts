import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { BackendError } from '../errors.js';
import { type KernelFunc, Tanh, type TensorInfo } from '../tfjs.js';
import type { KernelArgs } from './conv-util.js';
import { replacingKernel } from './kernel-config.js';
import { simdKernels } from './simd.js';

// Rational minimax approximation of tanh that XNNPACK uses for float32 ("rational-9-6"):
// tanh(x) ≈ x·P(x²)/Q(x²) for |x| ≤ CLAMP, P of degree 4 and Q of degree 3 in x², and
// ±P(CLAMP²)·CLAMP/Q(CLAMP²) beyond, where tanh is 1 to float32 precision. Evaluated in float64 it
// stays within 2.6e-7 of tanh; the numerator is scaled by 1/approx(CLAMP) (+2.4e-7) so that
// saturated inputs, ±Infinity included, give exactly ±1, which leaves it within 5e-7 of
// `Math.tanh` everywhere after rounding to float32. NaN fails both clamp comparisons and stays
// NaN; x·P/Q keeps the sign of ±0.
const CLAMP = 7.646893501282;
const RAW_P = [
  -9.022999554873e-3, -1.146968104877e-3, -2.432360815874e-5, -6.458659385089e-8, 5.535878699892e-11,
];
const [B0, B2, B4, B6] = [-9.023001417518e-3, -4.154618829489e-3, -2.061512641376e-4, -1.774490101525e-6];
const SCALE = 1 / rawRational(CLAMP);
const [A1, A3, A5, A7, A9] = RAW_P.map((a) => a * SCALE);

/** The scaled numerator coefficients a1…a9 that `lenet_tanh` takes after its pointers. */
export const TANH_NUMERATOR: readonly [number, number, number, number, number] = [A1, A3, A5, A7, A9];

function rawRational(x: number): number {
  const z = x * x;
  const [a1, a3, a5, a7, a9] = RAW_P;
  return (x * (a1 + z * (a3 + z * (a5 + z * (a7 + z * a9))))) / (B0 + z * (B2 + z * (B4 + z * B6)));
}

/** tanh of one number by the rational approximation (the same arithmetic as {@link tanhInto}). */
export function tanhApprox(v: number): number {
  const c = Math.min(CLAMP, Math.max(-CLAMP, v)); // NaN stays NaN
  const z = c * c;
  return (c * (A1 + z * (A3 + z * (A5 + z * (A7 + z * A9))))) / (B0 + z * (B2 + z * (B4 + z * B6)));
}

/**
 * Writes tanh(x[i]) to out[i] for every i. Written for V8's optimiser: the clamp bound is a
 * literal (a module constant in the ternary made the loop ~2× slower) and the length is read in
 * the loop condition (reading it once before the loop left the function without type feedback
 * for it after on-stack replacement, and V8 then ran it unoptimised at ~3× the time).
 */
export function tanhInto(x: Float32Array, out: Float32Array): void {
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    // biome-ignore lint/complexity/useMathMinMax: ternaries on a literal bound run fastest in V8 (7.646893501282 = CLAMP).
    const c = v > 7.646893501282 ? 7.646893501282 : v < -7.646893501282 ? -7.646893501282 : v;
    const z = c * c;
    out[i] = (c * (A1 + z * (A3 + z * (A5 + z * (A7 + z * A9))))) / (B0 + z * (B2 + z * (B4 + z * B6)));
  }
}

/**
 * Tanh for wasm as one JS pass over the wasm heap. tfjs-backend-wasm 4.22 calls libm's scalar
 * `tanhf` per element (~10 ns each); the rational approximation runs several times faster and
 * stays within 5e-7 of `Math.tanh` (see {@link tanhApprox}). Non-float32 inputs go to `stock`.
 */
export function makeTanhWasm(stock: KernelFunc | undefined): KernelFunc {
  return (args: KernelArgs): TensorInfo => {
    const backend = args.backend as BackendWasm;
    const { x } = args.inputs as { x?: TensorInfo };
    if (x === undefined) throw new BackendError('Tanh: input x is required', 'wasm');
    if (x.dtype !== 'float32') {
      if (stock === undefined) {
        throw new BackendError(`Tanh: ${x.dtype} input and no stock wasm kernel to run it`, 'wasm');
      }
      return stock(args) as TensorInfo;
    }
    // Allocate first: growing the wasm heap detaches views taken before.
    const out = backend.makeOutput(x.shape, 'float32');
    const size = x.shape.reduce((a, b) => a * b, 1);
    if (size === 0) return out;
    const simd = simdKernels(backend);
    if (simd !== undefined) {
      // The same approximation in float32 SIMD arithmetic (csrc/lenet-kernels.c).
      simd.fn.lenet_tanh(simd.ptr(x), simd.ptr(out), size, A1, A3, A5, A7, A9);
      return out;
    }
    tanhInto(backend.typedArrayFromHeap(x) as Float32Array, backend.typedArrayFromHeap(out) as Float32Array);
    return out;
  };
}

/** Tanh for wasm (see {@link makeTanhWasm}); keeps the stock kernel's setup for its fallback. */
export const tanhConfig = replacingKernel(Tanh, makeTanhWasm);
