import { BackendError } from './errors.js';
import {
  installConvInputGradientPruning,
  convInputGradientPruningInstalled as pruning,
  uninstallConvInputGradientPruning,
} from './fused-conv-grad.js';
import {
  type GradConfig,
  getGradient,
  getKernel,
  type KernelConfig,
  registerGradient,
  registerKernel,
  unregisterKernel,
} from './tfjs.js';
import { checkLayerInternals } from './tfjs-internals.js';
import {
  installActivationGradients,
  LENET_RELU_GRAD,
  LENET_TANH_GRAD,
  reluGradWasmConfig,
  restoreActivationGradients,
  tanhGradWasmConfig,
} from './wasm-kernels/activation-grad.js';
import { adamUpdateCpuConfig, adamUpdateWasmConfig, LENET_ADAM_UPDATE } from './wasm-kernels/adam.js';
import { avgPoolGradConfig } from './wasm-kernels/avg-pool-grad.js';
import { batchMatMulConfig } from './wasm-kernels/batch-mat-mul.js';
import { batchNormConfig } from './wasm-kernels/batch-norm.js';
import {
  FUSED_BATCH_NORM_GRAD,
  fusedBatchNormGradConfig,
  fusedBatchNormGradKernelConfig,
} from './wasm-kernels/batch-norm-grad.js';
import { broadcastBinaryConfig, leadingReductionConfig } from './wasm-kernels/broadcast-ops.js';
import { conv2dConfig, fusedConv2dConfig } from './wasm-kernels/conv2d.js';
import { conv2dBackpropFilterConfig } from './wasm-kernels/conv2d-backprop-filter.js';
import { conv2dBackpropInputConfig } from './wasm-kernels/conv2d-backprop-input.js';
import {
  dropoutMaskConfig,
  installFastDropout,
  LENET_DROPOUT_MASK,
  uninstallFastDropout,
} from './wasm-kernels/dropout.js';
import { castConfig, identityConfig } from './wasm-kernels/identity.js';
import { startDefaultWasmKernelThreads } from './wasm-kernels/kernel-threads.js';
import { fusedMatMulConfig } from './wasm-kernels/matmul.js';
import { maxPoolGradConfig } from './wasm-kernels/max-pool-grad.js';
import { poolConfig } from './wasm-kernels/pool.js';
import { installReductionGradients, restoreReductionGradients } from './wasm-kernels/reduce-grad.js';
import { tanhConfig } from './wasm-kernels/tanh.js';
import { tileConfig } from './wasm-kernels/tile.js';

/** A kernel this package registers for wasm, given the one it replaces (if any). */
type KernelFactory = (stock: KernelConfig | undefined) => KernelConfig;

const FACTORIES: ReadonlyArray<[string, KernelFactory]> = [
  ['Conv2DBackpropFilter', () => conv2dBackpropFilterConfig],
  ['Conv2DBackpropInput', conv2dBackpropInputConfig],
  ['MaxPoolGrad', () => maxPoolGradConfig],
  ['AvgPoolGrad', () => avgPoolGradConfig],
  [FUSED_BATCH_NORM_GRAD, () => fusedBatchNormGradKernelConfig],
  ['BatchMatMul', batchMatMulConfig],
  [LENET_ADAM_UPDATE, () => adamUpdateWasmConfig],
  ['Tanh', tanhConfig],
  [LENET_TANH_GRAD, () => tanhGradWasmConfig],
  [LENET_RELU_GRAD, () => reluGradWasmConfig],
  ['Add', broadcastBinaryConfig('Add')],
  ['Sub', broadcastBinaryConfig('Sub')],
  ['Multiply', broadcastBinaryConfig('Multiply')],
  ['RealDiv', broadcastBinaryConfig('RealDiv')],
  ['Sum', leadingReductionConfig('Sum')],
  ['Mean', leadingReductionConfig('Mean')],
  ['FusedBatchNorm', batchNormConfig],
  ['Identity', identityConfig],
  ['Conv2D', conv2dConfig],
  ['FusedConv2D', fusedConv2dConfig],
  ['MaxPool', poolConfig('max')],
  ['AvgPool', poolConfig('avg')],
  ['Tile', tileConfig],
  ['Cast', castConfig],
  [LENET_DROPOUT_MASK, () => dropoutMaskConfig],
  ['_FusedMatMul', fusedMatMulConfig],
];

/** The kernels tfjs-backend-wasm shipped before we replaced them, to restore on unregister. */
const stockKernels = new Map<string, KernelConfig | undefined>();
/** Our kernel configs now registered, by kernel name. */
const ours = new Map<string, KernelConfig>();
/** The FusedBatchNorm gradient tfjs registered, while ours (which dispatches to it) is in place. */
let originalBatchNormGrad: GradConfig | undefined;

/** Routes FusedBatchNorm's gradient to the fused wasm kernel on wasm (other backends unchanged). */
function wrapBatchNormGradient(): void {
  if (originalBatchNormGrad !== undefined) return;
  const original = getGradient('FusedBatchNorm');
  if (original === undefined) return;
  originalBatchNormGrad = original;
  registerGradient(fusedBatchNormGradConfig(original));
}

/**
 * Not a kernel: tfjs-layers' fused conv2d taking the unfused route while gradients are recorded,
 * so that the first layer's input gradient is not computed (see fused-conv-grad.ts). Listed and
 * selectable with the kernels so that `only` can measure it on its own.
 */
const CONV_INPUT_GRAD_PRUNING = 'ConvInputGradPruning';

/** Names of the wasm kernels this package provides, in registration order. */
export function wasmTrainingKernelNames(): string[] {
  return [...FACTORIES.map(([name]) => name), CONV_INPUT_GRAD_PRUNING];
}

/**
 * Registers this package's training kernels for the wasm backend (gradients wasm lacks, and
 * faster or correct replacements of stock ones). Idempotent: a second call changes nothing.
 * Loads `@tensorflow/tfjs-backend-wasm` first, so its own kernels never overwrite ours later.
 * `only` limits registration to some kernel names (for measuring one kernel at a time).
 * Returns the names of the kernels now served by this package.
 */
export async function registerWasmTrainingKernels(only?: readonly string[]): Promise<string[]> {
  await import('@tensorflow/tfjs-backend-wasm');
  // Fail here, before anything is patched, when tfjs moved what the patches rely on.
  checkLayerInternals();
  const known = wasmTrainingKernelNames();
  for (const name of only ?? []) {
    if (!known.includes(name)) {
      throw new BackendError(
        `unknown wasm training kernel '${name}': expected one of ${known.join(', ')}`,
        'wasm',
        undefined,
        { code: 'BACKEND_UNKNOWN' },
      );
    }
  }
  for (const [name, make] of FACTORIES) {
    if (only !== undefined && !only.includes(name)) continue;
    const current = getKernel(name, 'wasm');
    if (current !== undefined && current === ours.get(name)) continue;
    stockKernels.set(name, current);
    const config = make(current);
    if (current !== undefined) unregisterKernel(name, 'wasm');
    registerKernel(config);
    ours.set(name, config);
  }
  if (ours.has(FUSED_BATCH_NORM_GRAD)) wrapBatchNormGradient();
  // Both fused gradients are registered together with the gradient routing (tanh's and relu's
  // share one routing module); on runtimes without the SIMD kernels the routing keeps tfjs's own.
  if (ours.has(LENET_TANH_GRAD) || ours.has(LENET_RELU_GRAD)) installActivationGradients();
  // Mean's and Sum's gradients broadcast dy instead of multiplying by a JS-filled ones tensor.
  if (ours.has('Mean') || ours.has('Sum')) installReductionGradients();
  // tfjs-layers' Dropout draws its mask with the kernel instead of JS random numbers.
  if (ours.has(LENET_DROPOUT_MASK)) installFastDropout();
  if (only === undefined || only.includes(CONV_INPUT_GRAD_PRUNING)) installConvInputGradientPruning();
  // The convolution and matrix kernels split big calls over the cores (see kernel-threads.ts).
  await startDefaultWasmKernelThreads();
  return [...ours.keys(), ...(pruning() ? [CONV_INPUT_GRAD_PRUNING] : [])];
}

/** Puts the stock wasm kernels back (for before/after measurements). Returns the names restored. */
export function unregisterWasmTrainingKernels(): string[] {
  const restored: string[] = [];
  for (const [name, config] of ours) {
    if (getKernel(name, 'wasm') === config) unregisterKernel(name, 'wasm');
    const stock = stockKernels.get(name);
    if (stock !== undefined) registerKernel(stock);
    restored.push(name);
  }
  ours.clear();
  stockKernels.clear();
  if (uninstallConvInputGradientPruning()) restored.push(CONV_INPUT_GRAD_PRUNING);
  restoreActivationGradients();
  restoreReductionGradients();
  uninstallFastDropout();
  if (originalBatchNormGrad !== undefined) {
    registerGradient(originalBatchNormGrad);
    originalBatchNormGrad = undefined;
  }
  return restored;
}

/**
 * Registers the fused optimizer kernels for the cpu backend ({@link LENET_ADAM_UPDATE}; on wasm
 * it comes with {@link registerWasmTrainingKernels}). Idempotent. Returns the kernel names.
 */
export function registerFusedOptimizerKernels(): string[] {
  if (getKernel(LENET_ADAM_UPDATE, 'cpu') === undefined) registerKernel(adamUpdateCpuConfig);
  return [LENET_ADAM_UPDATE];
}
