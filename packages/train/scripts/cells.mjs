// What the A/B scripts here share: "preset:batch" arguments and their specs.
import {
  setBatchNormGradFusedEnabled,
  setBatchNormPoolFusionEnabled,
  setBatchNormPoolGradFusedEnabled,
  setBatchNormVarianceFusedEnabled,
  setConvPoolFusionEnabled,
  setConvPoolTanhHalvesEnabled,
  setDenseGradientColumnSplitEnabled,
  setDenseGradientSplitEnabled,
  setDenseGradientTransposeEnabled,
  setDenseInputGradientPanelsEnabled,
  setDenseResidentEnabled,
  setDenseResidentSplitEnabled,
  setDenseSparseInputEnabled,
  setDenseSparseSplitEnabled,
  setDirectEpilogueEnabled,
  setInferenceFusionEnabled,
  setKernelWaitSpin,
  setNarrowDirectEnabled,
  setPoolArgmaxMinFloats,
  setPoolArgmaxWideEnabled,
  setPoolFastEnabled,
  setRelaxedSimdEnabled,
  setSplitChainEnabled,
  setTrainBatchNormPoolFusionEnabled,
  setTrainConvAvgPoolFusionEnabled,
  setTrainConvPoolFusionEnabled,
  setTrainNarrowPoolEnabled,
  setTrainPoolBackwardEnabled,
  setTrainPoolFilterGradEnabled,
  setTrainPoolSparseFilterGradEnabled,
  setTrainPoolSparseInputGradEnabled,
  setTrainPoolSparseRowsEnabled,
  setWinogradEnabled,
  setWinogradEpilogueEnabled,
  setWinogradInputGradPadFreeEnabled,
  setWinogradInteriorEnabled,
  setWinogradMixedEnabled,
  setWinogradPadFreeEnabled,
  setWinogradResidentEnabled,
  setWinogradTrainPadFreeEnabled,
} from '@lenet/backend';
import { batches, head } from '@lenet/datasets';
import { getPreset } from '@lenet/models';
import { setKernelThreadSpin } from '../../backend/dist/wasm-kernels/kernel-threads.js';
import { setBatchWriteAheadEnabled } from '../dist/loop.js';

/** The `preset:batch` arguments of `args` (those not starting with `--`), or `fallback`'s. */
export function parseCells(args, fallback = []) {
  const given = args.filter((a) => !a.startsWith('--'));
  return (given.length > 0 ? given : fallback).map((c) => {
    const [preset, batch] = c.split(':');
    return { preset, batch: Number(batch) };
  });
}

/** The number given as `--name=N` in `args`, else `fallback`. */
export function numberOption(args, name, fallback) {
  const a = args.find((s) => s.startsWith(`--${name}=`));
  return a ? Number(a.slice(name.length + 3)) : fallback;
}

/**
 * The spec of a preset, or of `<preset>-nodropout`: the bench's variant with the dropout layers
 * removed (benchmarks/src/variants.ts).
 */
export function cellSpec(preset) {
  const base = getPreset(preset.replace(/-nodropout$/, '')).spec;
  return preset.endsWith('-nodropout')
    ? { ...base, layers: base.layers.filter((l) => l.type !== 'dropout') }
    : base;
}

/**
 * `count` batches of `batch` samples of `spec`'s input: MNIST's training images (`mnist`, the
 * dataset) where the input has their shape, else uniform noise with label 0 (speed does not
 * depend on the pixels).
 */
export function cellBatches(spec, batch, mnist, count = 1) {
  const [h, w, c] = spec.input;
  if (h === 28 && w === 28 && c === 1)
    return [...batches(head(mnist, batch * count), { batchSize: batch, layout: 'NHWC', normalize: 'unit' })];
  return Array.from({ length: count }, () => ({
    x: Float32Array.from({ length: batch * h * w * c }, () => Math.random()),
    y: new Int32Array(batch),
    shape: [batch, h, w, c],
  }));
}

/**
 * Switches the stage profilers can flip between rounds with `--ab=NAME` (A: off, B: on).
 * `pool-arg`: the compiled step's max pooling keeps its argmax for every input size, or never;
 * `winograd-dw`: the Winograd filter gradient alone;
 * `wino-interior`: the Winograd forward kernel's bound-free transforms of interior tiles (forward and input gradient);
 * `wino-mixed`: the training step's Winograd forward and input gradient with F(4×4) tiles inside and narrower ones
 *   at the edges of outputs whose sides are not multiples of 4, by default where they pay (keras-deep's 14×14 and 3×3);
 *   `wino-mixed-all`: those on every such output (7×7 too);
 * `direct-epilogue`: the compiled inference pass's unpooled direct conv adding its bias and relu inside its split;
 * `split-chain`: the compiled inference pass leaving a conv's output in the helper threads for the next conv;
 *   `vgg-infer`: those three (round 12b's vgg-cifar10 inference levers) together;
 * `wino-resident`: the compiled inference pass's Winograd filter transforms kept in the helper threads' memory;
 * `dw-split`: the dense weight gradient's batch split over the helper threads;
 * `dw-columns`: that split by rows of the gradient (columns of x) rather than over the batch;
 * `dw-transpose`: the dense weight gradient reading xᵀ in contiguous rows (x transposed first);
 * `dx-panels`: the dense input gradient reading Wᵀ in panels (read when a step is compiled);
 * `dense-resident`: the compiled inference pass's dense panels kept in the helper threads' memory
 *   (and its products split by rows from 2M multiply-adds);
 * `dense-sparse`: the compiled nets' dense products over the nonzero entries of a mostly-zero
 *   input only (mlp2's first layer on MNIST: forward and weight gradient); `dense-sparse-split`:
 *   its forward split over the helper threads by rows;
 * `fusion`: the compiled inference pass's graph fusion (read when a net is compiled:
 *   infer-stages.mjs compiles one per variant);
 * `bn-variance`, `bn-grad`: the training batch norm's variance in one pass, its input gradient
 *   without full-size scratch; `train-bn-pool`: the training batch norm with the max pooling
 *   after it (and a dropout and relu between) in one stage (read when a step is compiled); `bn-pool-grad`: that
 *   stage's gradient scatter inside the batch-norm gradient's first pass; `bn-train`: all four.
 * `pool-arg-wide`: the max pooling keeps its argmax at any size from 32 channels (`kerasb-train`: round
 *   12's Keras training levers).
 * `train-pool-backward`: a conv's filter and input gradients with its max pooling fused, image by
 *   image from the pooled gradient; `train-pool-sparse-dw`, `train-pool-sparse-dx`: its filter,
 *   input gradient skipping the windows' zeros; `train-pool-sparse-rows`: the sparse filter
 *   gradient's sums of all filter rows in registers; `conv2-train`: round 12's levers of
 *   LeNet-5's convs (all four).
 * `write-ahead`: `fit` writing its next batch while a step waits for a helper thread (fit-profile.mjs).
 * `relaxed`: the SIMD kernels' relaxed-SIMD build (fused multiply-adds) against the plain one.
 * `spin`: the helper threads polling 3 ms for their next call and the calling thread 3 ms for a
 *   helper's share before they sleep (off: round 12's 600 µs and 0).
 */
const AB_SWITCHES = {
  'write-ahead': setBatchWriteAheadEnabled,
  relaxed: setRelaxedSimdEnabled,
  spin: (on) => {
    setKernelThreadSpin(on ? 3000 : 600);
    setKernelWaitSpin(on ? 3000 : 0);
  },
  pool: setPoolFastEnabled,
  'pool-arg': (on) => setPoolArgmaxMinFloats(on ? 0 : Number.POSITIVE_INFINITY),
  'winograd-dw': (on) => setWinogradEnabled(true, undefined, on),
  'dw-split': setDenseGradientSplitEnabled,
  'dw-columns': setDenseGradientColumnSplitEnabled,
  'dw-transpose': setDenseGradientTransposeEnabled,
  'dx-panels': setDenseInputGradientPanelsEnabled,
  'dense-resident': setDenseResidentEnabled,
  'resident-split': setDenseResidentSplitEnabled,
  'dense-sparse': setDenseSparseInputEnabled,
  'dense-sparse-split': setDenseSparseSplitEnabled,
  fusion: setInferenceFusionEnabled,
  'conv-pool': setConvPoolFusionEnabled,
  'train-conv-pool': setTrainConvPoolFusionEnabled,
  'train-conv-avg-pool': setTrainConvAvgPoolFusionEnabled,
  'tanh-halves': setConvPoolTanhHalvesEnabled,
  'train-narrow-pool': setTrainNarrowPoolEnabled,
  'train-pool-dw': setTrainPoolFilterGradEnabled,
  'train-pool-backward': setTrainPoolBackwardEnabled,
  'train-pool-sparse-dw': setTrainPoolSparseFilterGradEnabled,
  'train-pool-sparse-dx': setTrainPoolSparseInputGradEnabled,
  'train-pool-sparse-rows': setTrainPoolSparseRowsEnabled,
  'wino-epilogue': setWinogradEpilogueEnabled,
  'wino-pad-free': setWinogradPadFreeEnabled,
  'wino-dx-pad-free': setWinogradInputGradPadFreeEnabled,
  'wino-train-pad-free': setWinogradTrainPadFreeEnabled,
  'wino-interior': setWinogradInteriorEnabled,
  'wino-mixed': setWinogradMixedEnabled,
  'wino-mixed-all': (on) => setWinogradMixedEnabled(on, on),
  'wino-resident': setWinogradResidentEnabled,
  'narrow-direct': setNarrowDirectEnabled,
  'direct-epilogue': setDirectEpilogueEnabled,
  'split-chain': setSplitChainEnabled,
  'bn-pool': setBatchNormPoolFusionEnabled,
  'bn-variance': setBatchNormVarianceFusedEnabled,
  'bn-grad': setBatchNormGradFusedEnabled,
  'train-bn-pool': setTrainBatchNormPoolFusionEnabled,
  'bn-pool-grad': setBatchNormPoolGradFusedEnabled,
  // Round 11's classic LeNet-5 levers together (each is listed above too).
  'classic-train': (on) => {
    setTrainConvAvgPoolFusionEnabled(on);
    setConvPoolTanhHalvesEnabled(on);
  },
  'pool-arg-wide': setPoolArgmaxWideEnabled,
  // Round 12's Keras training levers together (each is listed above too).
  'kerasb-train': (on) => {
    setPoolArgmaxWideEnabled(on);
  },
  // Round 11's training batch-norm levers together (each is listed above too).
  'bn-train': (on) => {
    setBatchNormVarianceFusedEnabled(on);
    setBatchNormGradFusedEnabled(on);
    setTrainBatchNormPoolFusionEnabled(on);
    setBatchNormPoolGradFusedEnabled(on);
  },
  // Round 10's convolution levers of the inference pass together (each is listed above too).
  'conv-infer': (on) => {
    setWinogradEpilogueEnabled(on);
    setWinogradPadFreeEnabled(on);
    setNarrowDirectEnabled(on);
    setBatchNormPoolFusionEnabled(on);
  },
  // Round 12b's levers of vgg-cifar10's inference (each is listed above too).
  'vgg-infer': (on) => {
    setWinogradResidentEnabled(on);
    setDirectEpilogueEnabled(on);
    setSplitChainEnabled(on);
  },
  // Round 12's levers of LeNet-5's second conv in training (each is listed above too).
  'conv2-train': (on) => {
    setTrainPoolBackwardEnabled(on);
    setTrainPoolSparseFilterGradEnabled(on);
    setTrainPoolSparseInputGradEnabled(on);
    setTrainPoolSparseRowsEnabled(on);
  },
  // Round 11's convolution levers of the training step together (each is listed above too).
  'conv-train': (on) => {
    setTrainNarrowPoolEnabled(on);
    setTrainPoolFilterGradEnabled(on);
    setWinogradInputGradPadFreeEnabled(on);
    setWinogradTrainPadFreeEnabled(on);
  },
};

/**
 * The variants of `--ab=NAME` as [{ label, set }] (off, then on), or one unnamed variant that
 * changes nothing without the option.
 */
export function abVariants(args) {
  const a = args.find((s) => s.startsWith('--ab='));
  if (a === undefined) return [{ label: '', set: () => {} }];
  const name = a.slice(5);
  const set = AB_SWITCHES[name];
  if (set === undefined) throw new Error(`--ab=${name}: one of ${Object.keys(AB_SWITCHES).join(', ')}`);
  return [
    { label: `${name} off`, set: () => set(false) },
    { label: `${name} on`, set: () => set(true) },
  ];
}
