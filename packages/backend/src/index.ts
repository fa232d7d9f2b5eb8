/** @lenet/backend public API. */

/** The compiled training step's batch-norm passes (variance in one pass, the input gradient without scratch, the max pooling after it fused), on or off. */
export {
  setBatchNormGradFusedEnabled,
  setBatchNormPoolGradFusedEnabled,
  setBatchNormVarianceFusedEnabled,
  setTrainBatchNormPoolFusionEnabled,
  trainBatchNormPoolFusionEnabled,
} from './compiled/batch-norm-stage.js';
/** The compiled nets' graph fusion (batch norms folded, activations fused, conv + pool, batch norm + pool), on or off. */
export {
  convPoolFusionEnabled,
  inferenceFusionEnabled,
  setBatchNormPoolFusionEnabled,
  setConvPoolFusionEnabled,
  setInferenceFusionEnabled,
  setTrainConvAvgPoolFusionEnabled,
  setTrainConvPoolFusionEnabled,
  trainConvAvgPoolFusionEnabled,
  trainConvPoolFusionEnabled,
} from './compiled/fold.js';
/** The compiled inference pass: a network's forward pass as `predict` runs it, as a fixed kernel sequence on the wasm heap. */
export {
  type CompiledInferenceNet,
  compileInferenceNet,
  type InferenceNetOptions,
} from './compiled/inference-net.js';
/** The compiled training pass: a network's forward and backward as a fixed kernel sequence on the wasm heap. */
export {
  type NetActivation,
  type NetLayer,
  type NetSpec,
  netTrainableVariables,
} from './compiled/net-spec.js';
export { inferencePackingEnabled, setInferencePackingEnabled } from './compiled/packed-weights.js';
export { type CompiledTrainingNet, compileTrainingNet, type UpdateViews } from './compiled/training-net.js';
/** Error class of this package, the skip reasons and their list. */
export {
  BackendError,
  type BackendErrorCode,
  type BackendErrorOptions,
  SKIP_REASONS,
  type SkipReason,
} from './errors.js';
/** Probing the optional native packages (tfjs-node-gpu, tfjs-node) without side effects. */
export {
  defaultProbeEnvironment,
  NATIVE_PACKAGES,
  type NativeBackendName,
  type ProbeEnvironment,
  type ProbeResult,
  probeNative,
} from './probe.js';
/** Registering (and removing) this package's wasm training kernels. */
export {
  registerFusedOptimizerKernels,
  registerWasmTrainingKernels,
  unregisterWasmTrainingKernels,
  wasmTrainingKernelNames,
} from './register.js';
/** Switching backends: `useBackend('auto' | name)` and `availableBackends()`. */
export {
  AUTO_ORDER,
  availableBackends,
  type BackendAvailability,
  type BackendInfo,
  type BackendName,
  type BackendRequest,
  type SkippedBackend,
  type UseBackendOptions,
  useBackend,
} from './use-backend.js';
/** The fused Adam/AdamW update: the typed step for the active backend (or null), its name and types, and the in-place rule. */
export {
  type AdamUpdateAttrs,
  type AdamUpdateInputs,
  type AdamUpdateOutputs,
  adamUpdateArrays,
  type FusedAdamUpdate,
  fusedAdamUpdate,
  LENET_ADAM_UPDATE,
} from './wasm-kernels/adam.js';
/** Switching the SIMD training kernels off and on (for A/B measurements), and whether they can run. */
export { setWideConvEnabled, wideConvEnabled } from './wasm-kernels/conv-wide.js';
export {
  setWinogradEnabled,
  setWinogradEpilogueEnabled,
  setWinogradInputGradPadFreeEnabled,
  setWinogradInteriorEnabled,
  setWinogradMixedEnabled,
  setWinogradPadFreeEnabled,
  setWinogradResidentEnabled,
  setWinogradTrainPadFreeEnabled,
  winogradEnabled,
} from './wasm-kernels/conv-winograd.js';
/** The direct conv + 2×2 pooling kernel's levers, on or off (for A/B measurements). */
export {
  setConvPoolTanhHalvesEnabled,
  setDirectEpilogueEnabled,
  setNarrowDirectEnabled,
  setTrainNarrowPoolEnabled,
} from './wasm-kernels/conv2d.js';
export {
  setTrainPoolBackwardEnabled,
  setTrainPoolFilterGradEnabled,
  setTrainPoolSparseFilterGradEnabled,
  setTrainPoolSparseInputGradEnabled,
  setTrainPoolSparseRowsEnabled,
} from './wasm-kernels/conv2d-backprop-filter.js';
/** The SIMD kernels' relaxed-SIMD build (fused multiply-adds where the runtime has relaxed SIMD), on or off. */
export { relaxedSimdEnabled, setRelaxedSimdEnabled } from './wasm-kernels/kernel-module.js';
/**
 * How many threads the wasm SIMD kernels use (the calling thread included; 1 = no helpers), for
 * good or for a while; work for the calling thread while it waits for a helper's share of a
 * kernel (`fit` writes its next batch), and how long it polls before it sleeps.
 */
export {
  overrideWasmKernelThreads,
  setKernelIdleWork,
  setKernelWaitSpin,
  setWasmKernelThreads,
  type WasmKernelThreadsOverride,
  wasmKernelThreads,
} from './wasm-kernels/kernel-threads.js';
export {
  setDenseGradientColumnSplitEnabled,
  setDenseGradientSplitEnabled,
  setDenseGradientTransposeEnabled,
  setDenseInputGradientPanelsEnabled,
  setDenseResidentEnabled,
  setDenseResidentSplitEnabled,
  setDenseSparseInputEnabled,
  setDenseSparseSplitEnabled,
} from './wasm-kernels/matmul.js';
export {
  poolFastEnabled,
  setPoolArgmaxMinFloats,
  setPoolArgmaxWideEnabled,
  setPoolFastEnabled,
} from './wasm-kernels/pool-util.js';
/** Whether the wasm backend starts on a shared heap (the helper threads then work in place), for A/B measurements. */
export { setSharedTfjsHeapEnabled } from './wasm-kernels/shared-heap.js';
export { setSimdKernelsEnabled, simdKernelsSupported } from './wasm-kernels/simd.js';
/** The compiled inference pass keeping a convolution's output in the helper threads for the next one, on or off (for A/B measurements). */
export { setSplitChainEnabled } from './wasm-kernels/split.js';
