import { buildModel } from '@lenet/models/tf';
import { OnnxClassifier, toOnnxBytes } from '@lenet/onnx';
import { type InferencePath, modelClassifier } from '@lenet/train';
import { firstBatches, fitToInput } from '../data.js';
import { CellMemoryProbe } from '../memory.js';
import { benchThreadCounts } from '../pytorch.js';
import * as tf from '../tfjs.js';
import type { CellResult, OrtBackend } from '../types.js';
import { type CellContext, measuredCell } from './common.js';

/** The cell note naming the forward pass that ran: the compiled one, or `model.predict` and why. */
export function inferencePathNote(path: InferencePath): string {
  return path.kind === 'compiled'
    ? 'compiled inference pass (@lenet/train modelClassifier, as predict/evaluate run it)'
    : `model.predict through @lenet/train modelClassifier (not compiled: ${path.reason})`;
}

/**
 * One TensorFlow.js inference cell on the active backend, timed as a user's `predict`/`evaluate`
 * runs a batch: `@lenet/train`'s `modelClassifier(model).probabilities` on a real MNIST batch
 * (inference mode, probabilities read back to the host as a `Float32Array`). On wasm that is the
 * compiled inference pass where it covers the model, else `model.predict` (the batch's upload
 * included, as in `predict`); the note says which ran, and why.
 */
export async function runTfjsInferCell(ctx: CellContext): Promise<CellResult> {
  const { spec, batch } = ctx;
  const [b] = firstBatches(fitToInput(ctx.data.test, spec.input, batch), batch, 1);
  const input = { x: b.x, shape: b.shape };
  const tensorsBefore = tf.memory().numTensors;
  const probe = new CellMemoryProbe().start();
  const model = buildModel(spec, { seed: 1 });
  const classifier = modelClassifier(model);
  let maxTensors = 0;
  const run = async (): Promise<void> => {
    const p = await classifier.probabilities(input);
    if (p.length !== batch * classifier.classes) {
      throw new Error(`modelClassifier returned ${p.length} probabilities for ${batch} images`);
    }
    const n = tf.memory().numTensors;
    if (n > maxTensors) maxTensors = n;
    probe.sample();
  };
  try {
    return await measuredCell('infer', ctx, run, async () => {
      const tensorMb = probe.tensorMb();
      const peakTensorMb = await probe.peakTensorMb(run);
      return {
        memory: { rssGrowthMb: probe.stop(), tensorMb, peakTensorMb, numTensors: maxTensors - tensorsBefore },
        note: inferencePathNote(classifier.path),
      };
    });
  } finally {
    probe.stop();
    classifier.release();
    model.dispose();
  }
}

/** The onnxruntime-node provider name of a benchmark column. */
export function ortProvider(backend: OrtBackend): 'cuda' | 'cpu' {
  return backend === 'ort-cuda' ? 'cuda' : 'cpu';
}

/** An ONNX export of a variant (seeded weights, NCHW input) loaded into an `OnnxClassifier`. */
export interface OrtModel {
  classifier: OnnxClassifier;
  bytes: number;
}

/**
 * Exports the variant with `@lenet/onnx` (weights of `buildModel(spec, { seed: 1 })`, or of
 * `source`) and loads it into an `OnnxClassifier` on exactly one provider: a provider that cannot
 * load throws (no silent fallback to another one). Session settings are the classifier's defaults.
 */
export async function openOrtModel(
  ctx: Pick<CellContext, 'spec'>,
  backend: OrtBackend,
  source?: tf.LayersModel,
  batchSize = 256,
  threads?: number,
): Promise<OrtModel> {
  const model = source ?? buildModel(ctx.spec, { seed: 1 });
  let bytes: Uint8Array;
  try {
    bytes = toOnnxBytes(model, { preset: ctx.spec.name });
  } finally {
    if (!source) model.dispose();
  }
  const classifier = await OnnxClassifier.load(bytes, {
    executionProviders: [ortProvider(backend)],
    batchSize,
    ...(threads !== undefined ? { threads } : {}),
  });
  if (classifier.info.executionProvider !== ortProvider(backend)) {
    await classifier.dispose();
    throw new Error(
      `OnnxClassifier ran on '${classifier.info.executionProvider}', not '${ortProvider(backend)}'`,
    );
  }
  return { classifier, bytes: bytes.length };
}

/**
 * Intra-op thread counts an ort-cpu cell is measured with: `$LENET_BENCH_ORT_THREADS` alone if
 * set, else 1 and every core, the faster kept: the rule the PyTorch column follows (its b64/b256
 * cells ran at 2 threads, ort's at 1 until round 7). ort-cuda runs the classifier's default.
 */
export function ortThreadCounts(backend: OrtBackend): number[] {
  return backend === 'ort-cpu' ? benchThreadCounts('LENET_BENCH_ORT_THREADS') : [1];
}

const threadsText = (t: number): string => `${t} intra-op thread${t === 1 ? '' : 's'}`;

/**
 * One onnxruntime-node inference cell: `OnnxClassifier.predict` on a real MNIST batch (NCHW), at
 * each of {@link ortThreadCounts}; the cell is the faster run, its note names the other.
 */
export async function runOrtInferCell(ctx: CellContext & { backend: OrtBackend }): Promise<CellResult> {
  const runs: CellResult[] = [];
  for (const threads of ortThreadCounts(ctx.backend)) runs.push(await runOrtInferCellAt(ctx, threads));
  const best = runs.reduce((a, b) => ((b.samplesPerSec ?? 0) > (a.samplesPerSec ?? 0) ? b : a));
  const others = runs
    .filter((r) => r !== best)
    .map((r) => `${threadsText(r.threads ?? 1)}: ${Math.round(r.samplesPerSec ?? 0)} samples/s`);
  return others.length ? { ...best, note: `${best.note} (faster than ${others.join(', ')})` } : best;
}

async function runOrtInferCellAt(
  ctx: CellContext & { backend: OrtBackend },
  threads: number,
): Promise<CellResult> {
  const { spec, batch } = ctx;
  const [b] = firstBatches(fitToInput(ctx.data.test, spec.input, batch), batch, 1, 'NCHW');
  const probe = new CellMemoryProbe().start();
  const m0 = await openOrtModel(ctx, ctx.backend, undefined, batch, threads);
  const run = async (): Promise<void> => {
    const out = await m0.classifier.predict(b.x, b.shape);
    if (out.count !== batch)
      throw new Error(`OnnxClassifier returned ${out.count} rows for a batch of ${batch}`);
    probe.sample();
  };
  try {
    const cell = await measuredCell('infer', ctx, run, async () => ({
      memory: { rssGrowthMb: probe.stop() },
      note: `${(m0.bytes / 1024).toFixed(0)} KiB ONNX, ${threadsText(m0.classifier.info.session.threads)}`,
    }));
    return { ...cell, threads: m0.classifier.info.session.threads };
  } finally {
    probe.stop();
    await m0.classifier.dispose();
  }
}
