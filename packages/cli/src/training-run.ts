// One `lenet train` run in its run directory: what `lenet train` and `lenet reproduce` run.
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { isLenetError, plural } from '@lenet/common';
import type { Dataset } from '@lenet/datasets';
import type { ModelSpec } from '@lenet/models';
import type { Callback, CheckpointState, EpochLogs, FitResult } from '@lenet/train';
import type { Recipe } from '@lenet/train/recipes';
import { activateBackend, type CliBackend } from './backend-arg.js';
import { loadRequested } from './data.js';
import { BadInputError, CliFailure, InterruptedError } from './errors.js';
import type { Interrupt } from './interrupt.js';
import { type CliIo, printJson } from './io.js';
import { resolveModel } from './model-arg.js';
import { loadClassifier } from './predictor.js';
import { writeRunReport } from './report.js';
import { removeLeftovers } from './run-dir.js';
import { inLockedRunDir } from './run-lock.js';
import { absolutePaths, writeRunOptions } from './run-options.js';

/** One training run: a recipe, and where and how to run it. */
export interface TrainingRun {
  recipe: Recipe;
  /** Data directory (`--data`). */
  data?: string;
  /** Train on the first `limit` images only. */
  limit?: number;
  backend: CliBackend;
  workers: number;
  /** Export and check `model.onnx`. */
  onnx: boolean;
  /** Export even when the loss became NaN or infinite (the run still fails with exit code 1). */
  exportAnyway?: boolean;
  /** Run directory. */
  out: string;
  /** Continue the run in `out` from its last checkpoint (its `run.json` gave this run's options). */
  resume?: boolean;
  /** `json`: the summary as JSON; `text`: progress and a two-line summary; `none`: print nothing. */
  output: 'json' | 'text' | 'none';
  /** The options report.md records. */
  reportFlags: Record<string, unknown>;
}

/** What a run prints with `--json` (and writes to result.json). */
export interface TrainingSummary {
  out: string;
  model: string;
  backend: string;
  epochs: number;
  stopped: FitResult['stopped'];
  seconds: number;
  testAccuracy: number;
  testLoss: number;
  onnxTestAccuracy: number | undefined;
  samplesPerSecond: number | undefined;
}

/**
 * Trains `run.recipe` and fills the run directory (spec, history, checkpoints, model, ONNX, plots,
 * report, result.json): what `lenet train` and `lenet reproduce` run. The directory is locked for
 * the run's duration; the leftovers of killed runs in it are removed first. Ctrl-C stops after the
 * current batch with a resumable checkpoint ({@link InterruptedError}, exit 130); a loss that
 * became NaN or infinite fails the run ({@link CliFailure}) with nothing exported unless
 * `exportAnyway`.
 */
export async function runTraining(run: TrainingRun, io: CliIo): Promise<TrainingSummary> {
  const out = resolve(run.out);
  return inLockedRunDir(out, run.resume ? 'lenet train --resume' : 'lenet train', io, (interrupt) =>
    trainInto(out, run, interrupt, io),
  );
}

async function trainInto(
  out: string,
  run: TrainingRun,
  interrupt: Interrupt,
  io: CliIo,
): Promise<TrainingSummary> {
  const { recipe } = run;
  const trainPkg = await import('@lenet/train');
  const checkpoints = join(out, 'checkpoints');
  if (run.resume) {
    // Before the clean-up: a checkpoint left between its two renames is recovered from its old copy.
    const ckpt = await trainPkg
      .readCheckpoint(checkpoints, { onNotice: (m) => io.err(`${m}\n`) })
      .catch((e: unknown) => {
        throw isLenetError(e)
          ? new BadInputError(`${out}: nothing to resume (${e.message})`, { cause: e })
          : e;
      });
    if (run.output === 'text') io.err(`resuming ${out} ${checkpointPlace(ckpt.state)}\n`);
  }
  const removed = await removeLeftovers(out);
  if (removed.length > 0) io.err(`removed what an interrupted run left in ${out}: ${removed.join(', ')}\n`);
  if (!run.resume) {
    await writeRunOptions(out, {
      ...absolutePaths(recipe, run.data),
      ...(run.limit === undefined ? {} : { limit: run.limit }),
      backend: run.backend,
      workers: run.workers,
      onnx: run.onnx,
      exportAnyway: run.exportAnyway ?? false,
      reportFlags: run.reportFlags,
    });
  }

  const { head } = await import('@lenet/datasets');
  const all = await loadRequested({ name: recipe.dataset, dir: run.data, split: 'train' });
  const train = run.limit ? head(all, run.limit) : all;
  const test = await loadRequested({ name: recipe.dataset, dir: run.data, split: 'test' });
  const { spec, adaptations } = await resolveModel(recipe.model, {
    input: [train.height, train.width, train.channels],
    classes: train.classNames.length,
  });
  for (const a of adaptations) io.err(`model adapted: ${a}\n`);
  const backend = await activateBackend(run.backend, io, run.output !== 'text');

  const models = await import('@lenet/models');
  const { buildModel, saveModel } = await import('@lenet/models/tf');
  models.saveSpec(join(out, 'spec.json'), spec);

  const model = buildModel(spec, { seed: recipe.seed });
  try {
    const guard = trainPkg.nanGuard({ log: (m) => io.err(`${m}\n`) });
    const learningRates = trainPkg.learningRateLogger({ every: 'step' });
    const callbacks: Callback[] = [
      guard,
      trainPkg.historyWriter(out),
      trainPkg.modelCheckpoint({ dir: checkpoints, save: 'both' }),
      learningRates,
    ];
    if (run.output === 'text')
      callbacks.push(trainPkg.progressBar({ mode: io.interactive ? 'bar' : 'lines' }));
    const options = trainPkg.recipeToFitOptions(recipe, {
      train,
      callbacks,
      spec,
      workers: run.workers,
      signal: interrupt.signal,
      ...(run.resume ? { resume: checkpoints } : {}),
    });
    // Statistics of the training images ('standard'), kept with the model so eval/predict/ONNX normalise the same way.
    const normalize = options.normalize;
    const result = await trainPkg.fit(model, train, options);
    const base = { out, model: spec.name, backend: backend.name, epochs: result.epochsCompleted };
    const stopIfInterrupted = async () => {
      if (interrupt.requested)
        await interrupted({ ...base, stopped: result.stopped, seconds: result.seconds }, run, io);
    };
    await stopIfInterrupted();
    if (guard.message !== null) {
      if (!run.exportAnyway) {
        throw new CliFailure(
          `${guard.message}; nothing exported (--export-anyway exports it all the same); checkpoints/last keeps the last state with a finite loss, if any`,
        );
      }
      // A diverged model is not evaluated (its outputs are not finite): exported only.
      await saveModel(model, join(out, 'model'), {
        metadata: { spec, classNames: test.classNames, normalize },
      });
      if (run.onnx) {
        const onnx = await import('@lenet/onnx');
        await onnx.exportOnnx(model, join(out, 'model.onnx'), {
          preset: spec.name,
          classNames: test.classNames,
          normalization: normalize,
        });
      }
      throw new CliFailure(`${guard.message}; exported all the same (--export-anyway), not evaluated`);
    }

    const evalResult = await trainPkg.evaluate(model, test, {
      batchSize: 256,
      normalize,
      probabilities: true,
    });
    await stopIfInterrupted();
    await saveModel(model, join(out, 'model'), {
      metadata: { spec, classNames: test.classNames, normalize },
    });
    await stopIfInterrupted();
    let onnx: { path: string; accuracy: number | undefined } | undefined;
    if (run.onnx) onnx = await exportAndCheck(model, spec, test, out, normalize, io);
    await stopIfInterrupted();

    await writeRunReport(out, {
      spec,
      adaptations,
      backend: backend.name,
      run,
      history: result.history,
      learningRates: learningRates.records,
      stopped: result.stopped,
      seconds: result.seconds,
      train,
      trainTotal: all.count,
      test,
      testAccuracy: evalResult.accuracy,
      testLoss: evalResult.loss,
      predictions: evalResult.predictions,
      probabilities: evalResult.probabilities as Float32Array,
      onnxAccuracy: onnx?.accuracy,
    });
    const summary: TrainingSummary = {
      ...base,
      // Epochs count from 1 in every file a user reads (fit's are 0-based).
      stopped: result.stopped && { ...result.stopped, epoch: result.stopped.epoch + 1 },
      seconds: Number(result.seconds.toFixed(1)),
      testAccuracy: evalResult.accuracy,
      testLoss: evalResult.loss,
      onnxTestAccuracy: onnx?.accuracy,
      samplesPerSecond: lastRate(result.history),
    };
    await writeFile(join(out, 'result.json'), `${JSON.stringify(summary, null, 2)}\n`);
    if (run.output === 'json') printJson(io, summary);
    if (run.output === 'text') {
      io.out(
        `test accuracy ${(evalResult.accuracy * 100).toFixed(2)}% (${plural(test.count, 'image')})` +
          (onnx?.accuracy !== undefined ? `, ONNX ${(onnx.accuracy * 100).toFixed(2)}%` : '') +
          ` after ${plural(result.epochsCompleted, 'epoch')} in ${result.seconds.toFixed(1)} s on ${backend.name}\n`,
      );
      io.out(`run directory: ${out} (report.md)\n`);
    }
    if (guard.message !== null)
      throw new CliFailure(`${guard.message}; exported all the same (--export-anyway)`);
    return summary;
  } finally {
    model.dispose();
  }
}

/** Where a checkpoint was taken, e.g. `in epoch 3 after batch 17/94` or `after epoch 2`. */
function checkpointPlace(state: CheckpointState): string {
  const p = state.position;
  return p
    ? `in epoch ${state.epoch + 1} after batch ${p.batch}/${p.stepsPerEpoch}`
    : `after epoch ${state.epoch}`;
}

/**
 * Ends a run stopped by Ctrl-C: says where its checkpoint is and how to continue (JSON with
 * `--json`), then throws {@link InterruptedError} (exit 130). Nothing is evaluated or exported.
 */
async function interrupted(
  summary: Pick<TrainingSummary, 'out' | 'model' | 'backend' | 'epochs' | 'stopped' | 'seconds'>,
  run: TrainingRun,
  io: CliIo,
): Promise<never> {
  const { readCheckpoint } = await import('@lenet/train');
  const dir = join(summary.out, 'checkpoints');
  const ckpt = await readCheckpoint(dir, { onNotice: () => {} }).catch(() => null);
  const resume = `lenet train --resume ${summary.out}`;
  let message: string;
  if (!ckpt) message = 'interrupted before the first checkpoint: nothing to resume';
  else
    message = `interrupted ${checkpointPlace(ckpt.state)}: resumable checkpoint in ${ckpt.dir}; continue with: ${resume}`;
  if (run.output === 'json') {
    printJson(io, {
      ...summary,
      seconds: Number(summary.seconds.toFixed(1)),
      checkpoint: ckpt?.dir ?? null,
      resume: ckpt ? resume : null,
    });
  }
  throw new InterruptedError(message);
}

function lastRate(history: readonly EpochLogs[]): number | undefined {
  const last = history.at(-1);
  return last ? Math.round(last.samplesPerSecond) : undefined;
}

async function exportAndCheck(
  model: import('./tfjs.js').LayersModel,
  spec: ModelSpec,
  test: Dataset,
  out: string,
  normalization: 'unit' | { mean: number[]; std: number[] },
  io: CliIo,
): Promise<{ path: string; accuracy: number | undefined }> {
  const onnx = await import('@lenet/onnx');
  const path = join(out, 'model.onnx');
  await onnx.exportOnnx(model, path, { preset: spec.name, classNames: test.classNames, normalization });
  let classifier: Awaited<ReturnType<typeof loadClassifier>>;
  try {
    classifier = await loadClassifier(path, async () => ({ name: 'onnx' }));
  } catch (e) {
    // onnxruntime-node is optional: the file is written, only its check needs the runtime.
    if (!(isLenetError(e) && e.code === 'RUNTIME_MISSING')) throw e;
    io.err(`model.onnx written; not checked: ${e.message}\n`);
    return { path, accuracy: undefined };
  }
  try {
    const { evaluate } = await import('@lenet/train');
    const { accuracy } = await evaluate(classifier.classifier, test, { batchSize: 256 });
    return { path, accuracy };
  } finally {
    await classifier.dispose();
  }
}
